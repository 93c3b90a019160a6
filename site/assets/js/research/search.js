// Research library, members' search: GET /api/search with the research
// filters. Every choice is in this page's address (the API's own parameter
// names: ?q=&scope=&sort=&topics=…&countries=…&regions=…&type=…&language=…
// &tlp=…&year_from=&year_to=&page=), so a search can be shared and reloads
// identically; Back and Forward step through the searches.

import { get } from "../members/api.js";
import { bdi } from "../members/ui.js";
import { el, formatNodes } from "../lib/dom.js";
import { appendSnippet, safeURL } from "../lib/snippet.js";
import {
  currentUser,
  loadVocabulary,
  handledFailure,
  showLogin,
  labels,
  tlpBadge,
  documentURL,
  toInt,
  validID,
} from "./common.js";
import { TLP_LABELS } from "../lib/vocabulary.js";
import { checkbox, idPart } from "./fields.js";
import { initSaveSearch } from "../alerts/save.js";

const MAX_QUERY = 200;
const MAX_VALUES = 20;
const MIN_YEAR = 1900;
const MAX_YEAR = 2100;
const SORTS = ["relevance", "newest", "oldest"];
// Facets in display order, with the allow-lists of api/member_search.go.
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const FACETS = [
  ["topics", SLUG],
  ["type", SLUG],
  ["language", /^[a-z]{2,5}$/],
  ["regions", SLUG],
  ["countries", /^[A-Z]{2}$/],
  ["tlp", { test: (v) => TLP_LABELS.includes(v) }],
];
// Values shown per facet before "Show all".
const SHOWN = 8;

export async function initResearchSearch(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#research-content");
  const queryForm = root.querySelector("#research-query");
  const q = root.querySelector("#research-q");
  const scope = root.querySelector("#research-scope");
  const filterForm = root.querySelector("#research-filters");
  const yearFrom = root.querySelector("#research-year-from");
  const yearTo = root.querySelector("#research-year-to");
  const yearsHint = root.querySelector("#research-years-hint");
  const facetsBox = root.querySelector("#research-facets");
  const clear = root.querySelector("#research-clear");
  const sort = root.querySelector("#research-sort");
  const heading = root.querySelector("#research-results-heading");
  const summary = root.querySelector("#research-summary");
  const keysHint = root.querySelector("#research-keys");
  const hits = root.querySelector("#research-hits");
  const pages = root.querySelector("#research-pages");
  const documentBase = root.getAttribute("data-document-url") || "/" + ui.lang + "/research/document/";
  const number = (n) => {
    try {
      return new Intl.NumberFormat(ui.locale).format(n);
    } catch (error) {
      return String(n);
    }
  };

  const empty = () => ({ q: "", scope: "research", sort: "", page: 1, year_from: 0, year_to: 0, lists: Object.fromEntries(FACETS.map(([k]) => [k, []])) });
  let state = empty();

  const validYear = (n) => n >= MIN_YEAR && n <= MAX_YEAR;
  const effectiveSort = (s) => s.sort || (s.q ? "relevance" : "newest");

  const readLocation = () => {
    const params = new URLSearchParams(window.location.search);
    const next = empty();
    next.q = (params.get("q") || "").trim().slice(0, MAX_QUERY);
    next.scope = params.get("scope") === "all" ? "all" : "research";
    next.sort = SORTS.includes(params.get("sort")) ? params.get("sort") : "";
    const page = toInt(params.get("page"));
    next.page = page >= 1 && page <= 100 ? page : 1;
    const from = toInt(params.get("year_from"));
    const to = toInt(params.get("year_to"));
    next.year_from = validYear(from) ? from : 0;
    next.year_to = validYear(to) ? to : 0;
    if (next.year_from && next.year_to && next.year_from > next.year_to) {
      next.year_to = 0;
    }
    for (const [key, pattern] of FACETS) {
      next.lists[key] = Array.from(new Set(params.getAll(key).filter((v) => pattern.test(v)))).slice(0, MAX_VALUES);
    }
    state = next;
  };

  // The parameters of a search, for this page's address and for the API.
  const params = (s, forAPI) => {
    const out = new URLSearchParams();
    if (s.q) {
      out.set("q", s.q);
    }
    if (forAPI) {
      out.set("lang", ui.lang);
      out.set("scope", s.scope);
      out.set("sort", effectiveSort(s));
    } else {
      if (s.scope === "all") {
        out.set("scope", "all");
      }
      if (s.sort) {
        out.set("sort", s.sort);
      }
    }
    for (const [key] of FACETS) {
      for (const value of s.lists[key]) {
        out.append(key, value);
      }
    }
    if (s.year_from) {
      out.set("year_from", String(s.year_from));
    }
    if (s.year_to) {
      out.set("year_to", String(s.year_to));
    }
    if (s.page > 1 || forAPI) {
      out.set("page", String(s.page));
    }
    return out;
  };
  const pageURL = (s) => {
    const query = params(s, false).toString();
    return window.location.pathname + (query ? "?" + query : "");
  };

  const name = { topics: null, type: null, language: null, regions: null, countries: null, tlp: (v) => v };

  // The form shows the state.
  const showState = () => {
    q.value = state.q;
    scope.checked = state.scope === "all";
    sort.value = effectiveSort(state);
    yearFrom.value = state.year_from ? String(state.year_from) : "";
    yearTo.value = state.year_to ? String(state.year_to) : "";
    ui.fieldError(yearFrom, null);
    ui.fieldError(yearTo, null);
  };

  // The state the two forms describe (the query and the filters together).
  const readForms = () => {
    const next = empty();
    next.q = q.value.trim().slice(0, MAX_QUERY);
    next.scope = scope.checked ? "all" : "research";
    next.sort = state.sort;
    for (const [key, pattern] of FACETS) {
      const boxes = facetsBox.querySelectorAll('input[type="checkbox"][name="' + key + '"]:checked');
      next.lists[key] = Array.from(boxes, (box) => box.value).filter((v) => pattern.test(v)).slice(0, MAX_VALUES);
    }
    const errors = [];
    const from = yearFrom.value.trim();
    const to = yearTo.value.trim();
    next.year_from = toInt(from);
    next.year_to = toInt(to);
    if (from && (!/^\d{4}$/.test(from) || !validYear(next.year_from))) {
      errors.push([yearFrom, t("research_error_year", { min: MIN_YEAR, max: MAX_YEAR })]);
    }
    if (to && (!/^\d{4}$/.test(to) || !validYear(next.year_to))) {
      errors.push([yearTo, t("research_error_year", { min: MIN_YEAR, max: MAX_YEAR })]);
    }
    if (errors.length === 0 && next.year_from && next.year_to && next.year_from > next.year_to) {
      errors.push([yearTo, t("research_error_year_order")]);
    }
    return { next, errors };
  };

  // Same-page links (pages): real links, handled in place.
  const navLink = (attrs, next) => {
    const link = el("a", Object.assign({ href: pageURL(next) }, attrs));
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      go(next, true);
    });
    return link;
  };

  // ---- Facets ---------------------------------------------------------

  const facetGroup = (key, values) => {
    const id = "facet-" + key;
    const selected = new Set(state.lists[key]);
    // The API's values with their counts, and any selected value it did not
    // return (count 0), so that a choice can always be undone.
    const items = values.filter((v) => v && typeof v.value === "string").map((v) => ({ value: v.value, count: Number(v.count) || 0 }));
    for (const value of selected) {
      if (!items.some((item) => item.value === value)) {
        items.push({ value, count: 0 });
      }
    }
    if (items.length === 0) {
      return null;
    }
    const label = name[key];
    const list = el("div", { class: "check-list", id: id + "-options" });
    let hidden = 0;
    items.forEach((item, index) => {
      const text = key === "tlp" ? el("span", { lang: "en", dir: "ltr", text: item.value }) : bdi(label(item.value));
      const box = checkbox(id + "-" + idPart(item.value), key, item.value, [text, " ", el("span", { class: "facet-count", text: "(" + number(item.count) + ")" })], selected.has(item.value));
      if (index >= SHOWN && !selected.has(item.value)) {
        box.hidden = true;
        box.classList.add("is-extra");
        hidden++;
      }
      list.append(box);
    });
    const group = el("fieldset", { class: "field check-group research-facet", id }, [el("legend", { text: t("research_facet_" + key) }), list]);
    if (hidden > 0) {
      const more = el("button", {
        type: "button",
        class: "button-link",
        "aria-expanded": "false",
        "aria-controls": id + "-options",
        text: t("research_facet_more", { count: number(items.length) }),
      });
      more.addEventListener("click", () => {
        const open = more.getAttribute("aria-expanded") !== "true";
        for (const box of list.querySelectorAll(".is-extra")) {
          box.hidden = !open && !box.querySelector("input").checked;
        }
        more.setAttribute("aria-expanded", open ? "true" : "false");
        more.textContent = open ? t("research_facet_less") : t("research_facet_more", { count: number(items.length) });
      });
      group.append(more);
    }
    return group;
  };

  const renderFacets = (data) => {
    const facets = data && data.facets && typeof data.facets === "object" ? data.facets : {};
    const groups = [];
    for (const [key] of FACETS) {
      const group = facetGroup(key, Array.isArray(facets[key]) ? facets[key] : []);
      if (group) {
        groups.push(group);
      }
    }
    facetsBox.replaceChildren(...groups);
    const range = Array.isArray(data && data.yearRange) ? data.yearRange : null;
    if (range && range.length === 2 && Number(range[0]) > 0) {
      yearsHint.textContent = t("research_year_hint", { min: range[0], max: range[1] });
    } else {
      yearsHint.textContent = "";
    }
  };

  // ---- Results --------------------------------------------------------

  const authorsText = (authors) => {
    const list = (Array.isArray(authors) ? authors : []).filter((a) => typeof a === "string" && a);
    if (list.length <= 3) {
      return list.join(", ");
    }
    return t("research_authors_more", { names: list.slice(0, 3).join(", "), count: list.length - 3 });
  };

  const hitItem = (hit) => {
    const title = String(hit.title || hit.url || "");
    const research = hit.kind === "research" && typeof hit.id === "string";
    const page = Number(hit.page) || 0;
    // A research hit opens its document at the page of the best match,
    // with the search's words marked there.
    const href = research && validID(hit.id) ? documentURL(documentBase, hit.id, page, state.q) : safeURL(hit.url);
    const item = el("li", { class: "search-hit research-hit" }, [
      // Documents are in many languages: their text sets its own direction.
      el("h3", null, [href ? el("a", { href, class: "research-hit-link", dir: "auto", text: title }) : bdi(title)]),
    ]);
    const meta = el("p", { class: "research-hit-meta" });
    const parts = [];
    if (research) {
      if (hit.tlp) {
        meta.append(tlpBadge(hit.tlp), " ");
      }
      if (hit.year) {
        parts.push(document.createTextNode(String(hit.year)));
      }
      if (hit.type) {
        parts.push(document.createTextNode(name.type(hit.type)));
      }
      const authors = authorsText(hit.authors);
      if (authors) {
        parts.push(bdi(authors));
      }
    } else {
      if (hit.tlp) {
        meta.append(tlpBadge(hit.tlp), " ");
      }
      parts.push(document.createTextNode(hit.kind === "training" ? t("research_kind_training") : t("research_kind_page")));
      if (hit.section) {
        parts.push(bdi(hit.section));
      }
    }
    parts.forEach((part, index) => {
      if (index > 0) {
        meta.append(el("span", { class: "research-sep", "aria-hidden": "true", text: " · " }));
      }
      meta.append(part);
    });
    item.append(meta);
    if (hit.snippet) {
      const snippet = el("p", { class: "search-hit-snippet", dir: research ? "auto" : null });
      appendSnippet(snippet, hit.snippet);
      item.append(snippet);
    }
    if (research && page > 1) {
      item.append(
        el("p", { class: "research-hit-page" }, [
          el("a", { href: documentURL(documentBase, hit.id, page, state.q), text: t("research_match_page", { page: number(page) }) }),
        ]),
      );
    }
    if (research && hit.recognised) {
      item.append(el("p", { class: "research-hit-page muted", text: t("research_hit_recognised") }));
    }
    return item;
  };

  const renderPages = (page, totalPages) => {
    const list = pages.querySelector("ul");
    if (totalPages <= 1) {
      pages.hidden = true;
      list.replaceChildren();
      return;
    }
    const items = [];
    if (page > 1) {
      items.push(el("li", null, [navLink({ class: "pager-prev", rel: "prev", text: t("research_previous") }, Object.assign({}, state, { page: page - 1 }))]));
    }
    items.push(el("li", { class: "pager-status", text: t("research_page_status", { page: number(page), total: number(totalPages) }) }));
    if (page < totalPages && page < 100) {
      items.push(el("li", null, [navLink({ class: "pager-next", rel: "next", text: t("research_next") }, Object.assign({}, state, { page: page + 1 }))]));
    }
    list.replaceChildren(...items);
    pages.hidden = false;
  };

  const render = (data) => {
    const total = Number(data.total) || 0;
    const list = Array.isArray(data.hits) ? data.hits.filter(Boolean) : [];
    // What the summary says, also announced (as nodes: the query stays
    // isolated in right-to-left text).
    let say;
    if (total === 0 || list.length === 0) {
      say = () => [t("research_no_results") + " " + t("research_no_results_hint")];
      summary.replaceChildren(t("research_no_results"), " ", el("span", { class: "muted", text: t("research_no_results_hint") }));
    } else if (state.q) {
      say = () => formatNodes(t("research_total_query"), { query: state.q, count: number(total) });
      summary.replaceChildren(...say());
    } else {
      say = () => [t("research_total", { count: number(total) })];
      summary.replaceChildren(...say());
    }
    hits.replaceChildren(...list.map(hitItem));
    keysHint.hidden = list.length < 2;
    renderFacets(data);
    renderPages(Number(data.page) || state.page, Number(data.totalPages) || 0);
    ui.status(say());
  };

  // ---- Loading --------------------------------------------------------

  let loading = 0;
  const load = async (focus) => {
    const id = ++loading;
    hits.setAttribute("aria-busy", "true");
    const result = await get("/search?" + params(state, true).toString());
    if (id !== loading) {
      return;
    }
    hits.removeAttribute("aria-busy");
    if (!result.ok) {
      if (handledFailure(root, ui, result)) {
        content.hidden = true;
        return;
      }
      summary.textContent = "";
      hits.replaceChildren();
      renderPages(1, 0);
      if (result.status === 400) {
        ui.alert(t("research_error_search"));
      } else if (result.status === 503 || result.error.code === "network") {
        ui.alert(result.error.code === "network" ? ui.message(result) : t("research_error_unavailable"));
      } else {
        ui.alert(ui.message(result));
      }
      return;
    }
    const data = result.data || {};
    // A session that ended meanwhile gets the public search (no scope).
    if (typeof data.scope !== "string") {
      content.hidden = true;
      showLogin(root, ui);
      return;
    }
    render(data);
    if (focus) {
      ui.focus(heading);
    }
  };

  // A new search: in the address (a new history entry), then loaded.
  const go = (next, focus) => {
    state = next;
    showState();
    history.pushState(null, "", pageURL(state));
    ui.clear();
    load(focus);
  };

  const submit = (event) => {
    event.preventDefault();
    ui.fieldError(yearFrom, null);
    ui.fieldError(yearTo, null);
    const { next, errors } = readForms();
    if (errors.length > 0) {
      ui.showErrors(errors);
      return;
    }
    next.page = 1;
    go(next, false);
  };
  queryForm.addEventListener("submit", submit);
  filterForm.addEventListener("submit", submit);

  clear.addEventListener("click", () => {
    const next = empty();
    next.q = state.q;
    next.scope = state.scope;
    next.sort = state.sort;
    for (const box of facetsBox.querySelectorAll('input[type="checkbox"]')) {
      box.checked = false;
    }
    go(next, false);
  });

  sort.addEventListener("change", () => {
    const next = Object.assign({}, state, { sort: SORTS.includes(sort.value) ? sort.value : "", page: 1 });
    go(next, false);
  });

  scope.addEventListener("change", () => {
    const next = Object.assign({}, state, { scope: scope.checked ? "all" : "research", page: 1 });
    go(next, false);
  });

  // Up and Down move between the results' titles.
  hits.addEventListener("keydown", (event) => {
    if ((event.key !== "ArrowDown" && event.key !== "ArrowUp") || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    const links = Array.from(hits.querySelectorAll("a.research-hit-link"));
    const index = links.indexOf(document.activeElement);
    if (index < 0) {
      return;
    }
    const target = links[index + (event.key === "ArrowDown" ? 1 : -1)];
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });

  window.addEventListener("popstate", () => {
    readLocation();
    showState();
    ui.clear();
    load(false);
  });

  // Start: members only.
  ui.status(t("app_loading"));
  const user = await currentUser(root, ui);
  if (!user) {
    return;
  }
  const vocab = await loadVocabulary(root, ui);
  if (!vocab) {
    return;
  }
  const named = labels(ui, vocab);
  name.topics = named.topic;
  name.type = named.type;
  name.language = named.language;
  name.regions = named.region;
  name.countries = named.country;
  readLocation();
  showState();
  // The address as this page writes it (invalid values dropped).
  history.replaceState(null, "", pageURL(state));
  content.hidden = false;
  initSaveSearch(root, ui, () => state);
  await load(false);
}
