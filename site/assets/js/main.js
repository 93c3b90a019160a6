// Progressive enhancement for the public site. Every page works without it.
//
// 1. Quick exit: the quick-exit link replaces the current history entry
//    (location.replace) instead of adding one; pressing Escape twice within
//    1.5 seconds does the same.
// 2. Search page: results are fetched from the same-origin search API and
//    rendered in place. Nothing from the network is ever parsed into the page
//    as HTML except <mark> elements rebuilt from text (see appendSnippet in
//    lib/snippet.js).
//
// 3. Members' area (login, invitation, my account, administration, research
//    library): not here; each application is a bundle of its own that only
//    its pages load (apps/, members/start.js). Those pages need JavaScript
//    and say so without it.
// 4. Training: progress in this browser, quizzes, the handout's print
//    button: see training/index.js. Training pages read well without it.
// 5. Typeahead: the search boxes suggest titles as one types (the WAI-ARIA
//    combobox pattern, lib/combobox.js); without it they are plain forms.
//
// Bundled by Hugo (js.Build, ES2020, minified, fingerprinted, loaded with defer).

import { el, format, formatNodes } from "./lib/dom.js";
import { appendSnippet, safeURL } from "./lib/snippet.js";
import { initTraining } from "./training/index.js";
import { initTypeaheads } from "./lib/combobox.js";
import { initBell } from "./alerts/bell.js";

const ESCAPE_WINDOW_MS = 1500;

// ---------------------------------------------------------------------------
// Quick exit
// ---------------------------------------------------------------------------

function initQuickExit() {
  const link = document.querySelector("a[data-quick-exit]");
  if (!link) {
    return;
  }
  const leave = () => {
    window.location.replace(link.href);
  };
  link.addEventListener("click", (event) => {
    event.preventDefault();
    leave();
  });
  let lastEscape = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    if (event.isComposing) {
      return;
    }
    const now = Date.now();
    if (now - lastEscape <= ESCAPE_WINDOW_MS) {
      lastEscape = 0;
      leave();
      return;
    }
    lastEscape = now;
  });
}

// ---------------------------------------------------------------------------
// Search page
// ---------------------------------------------------------------------------

const MAX_QUERY_LENGTH = 200;

function initSearch() {
  const results = document.getElementById("search-results");
  const status = document.getElementById("search-status");
  if (!results || !status || !window.fetch || !window.DOMParser) {
    return;
  }
  const form = document.querySelector("form.search-form-page");
  const input = form ? form.querySelector('input[name="q"]') : null;
  const t = (name) => results.getAttribute("data-i18n-" + name) || "";
  const api = results.getAttribute("data-api") || "/api/search";
  const lang = results.getAttribute("data-lang") || document.documentElement.lang || "en";
  let controller = null;

  const state = { q: "", page: 1, section: "" };

  const readLocation = () => {
    const params = new URLSearchParams(window.location.search);
    state.q = (params.get("q") || "").trim().slice(0, MAX_QUERY_LENGTH);
    const page = parseInt(params.get("page") || "1", 10);
    state.page = Number.isFinite(page) && page > 0 ? page : 1;
    state.section = params.get("section") || "";
  };

  const pageURL = (next) => {
    const params = new URLSearchParams();
    params.set("q", next.q);
    if (next.section) {
      params.set("section", next.section);
    }
    if (next.page > 1) {
      params.set("page", String(next.page));
    }
    return window.location.pathname + "?" + params.toString();
  };

  const announce = (text) => {
    status.textContent = text;
  };

  const replaceResults = (nodes) => {
    results.replaceChildren(...nodes);
  };

  const focusSummary = () => {
    const summary = results.querySelector("[data-search-summary]");
    if (summary) {
      summary.setAttribute("tabindex", "-1");
      summary.focus({ preventScroll: false });
    }
  };

  const navLink = (text, next, extra) => {
    const link = el("a", Object.assign({ href: pageURL(next), text }, extra || {}));
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      Object.assign(state, next);
      run({ focus: true });
    });
    return link;
  };

  const renderError = (kind) => {
    const message = kind === "invalid" ? t("error-invalid") : t("error-unavailable");
    replaceResults([el("p", { class: "search-message search-error", "data-search-summary": true, text: message })]);
    announce(message);
  };

  const renderEmptyQuery = () => {
    const message = t("empty-query");
    replaceResults([el("p", { class: "search-message", text: message })]);
    announce("");
  };

  const render = (data) => {
    const nodes = [];
    const total = Number(data.total) || 0;
    const query = typeof data.query === "string" ? data.query : state.q;
    const page = Number(data.page) || state.page;
    const totalPages = Number(data.totalPages) || 0;
    let summaryText;

    if (total === 0) {
      summaryText = format(t("no-results"), { query });
      nodes.push(
        el("div", { class: "search-summary search-empty" }, [
          el("p", { class: "search-count", "data-search-summary": true }, formatNodes(t("no-results"), { query })),
          el("p", { text: t("tips-heading") }),
          el("ul", null, [el("li", { text: t("tip-spelling") }), el("li", { text: t("tip-fewer") })]),
        ]),
      );
    } else {
      summaryText = format(t("results-count"), { query, count: total });
      nodes.push(el("p", { class: "search-count", "data-search-summary": true }, formatNodes(t("results-count"), { query, count: total })));
    }

    const facets = data.facets && Array.isArray(data.facets.section) ? data.facets.section : [];
    if (facets.length > 0) {
      const items = [];
      if (state.section) {
        items.push(el("li", null, [navLink(t("filter-all"), { q: state.q, page: 1, section: "" })]));
      }
      for (const facet of facets) {
        if (!facet || typeof facet.value !== "string") {
          continue;
        }
        const selected = facet.value === state.section;
        const link = navLink(
          "",
          { q: state.q, page: 1, section: selected ? "" : facet.value },
          { "aria-current": selected ? "true" : null },
        );
        link.append(el("bdi", { text: facet.value }), " ", el("span", { class: "facet-count", text: "(" + (Number(facet.count) || 0) + ")" }));
        items.push(el("li", null, [link]));
      }
      nodes.push(
        el("nav", { class: "search-facets", "aria-label": t("filter-label") }, [
          el("p", { class: "search-facets-title", text: t("filter-label") }),
          el("ul", null, items),
        ]),
      );
    }

    const hits = Array.isArray(data.hits) ? data.hits : [];
    if (hits.length > 0) {
      const list = el("ol", { class: "search-hits" });
      for (const hit of hits) {
        if (!hit) {
          continue;
        }
        const href = safeURL(hit.url);
        const title = String(hit.title || hit.url || "");
        const heading = el("h2", null, [href ? el("a", { href, text: title }) : document.createTextNode(title)]);
        const sectionLine = el("p", { class: "search-hit-section" }, [
          el("span", { class: "search-hit-section-label", text: t("section-label") }),
          " ",
          el("bdi", { text: String(hit.section || "") }),
        ]);
        if (hit.kind === "training") {
          sectionLine.append(" · " + t("kind-training"));
        }
        const item = el("li", { class: "search-hit" }, [heading, sectionLine]);
        if (hit.snippet) {
          const snippet = el("p", { class: "search-hit-snippet" });
          appendSnippet(snippet, hit.snippet);
          item.append(snippet);
        }
        list.append(item);
      }
      nodes.push(list);
    }

    if (totalPages > 1) {
      const items = [];
      if (page > 1) {
        items.push(
          el("li", null, [navLink(t("previous"), { q: state.q, section: state.section, page: page - 1 }, { class: "pager-prev", rel: "prev" })]),
        );
      }
      items.push(el("li", { class: "pager-status", text: format(t("page-status"), { page, total: totalPages }) }));
      if (page < totalPages) {
        items.push(
          el("li", null, [navLink(t("next"), { q: state.q, section: state.section, page: page + 1 }, { class: "pager-next", rel: "next" })]),
        );
      }
      nodes.push(el("nav", { class: "pagination", "aria-label": t("pagination-label") }, [el("ul", null, items)]));
    }

    replaceResults(nodes);
    announce(summaryText);
  };

  const run = async (options) => {
    const focus = Boolean(options && options.focus);
    if (controller) {
      controller.abort();
    }
    if (!state.q) {
      history.replaceState(null, "", window.location.pathname);
      renderEmptyQuery();
      return;
    }
    history.replaceState(null, "", pageURL(state));
    if (input && input.value !== state.q) {
      input.value = state.q;
    }
    controller = new AbortController();
    const params = new URLSearchParams({ q: state.q, lang, page: String(state.page) });
    if (state.section) {
      params.set("section", state.section);
    }
    announce(t("loading"));
    results.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(api + "?" + params.toString(), {
        method: "GET",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      if (!response.ok || !data || data.error) {
        const invalid = response.status === 400 || response.status === 422 || (data && data.error && /invalid/i.test(String(data.error.code || "")));
        renderError(invalid ? "invalid" : "unavailable");
      } else {
        render(data);
      }
    } catch (error) {
      if (error && error.name === "AbortError") {
        return;
      }
      renderError("unavailable");
    } finally {
      results.removeAttribute("aria-busy");
    }
    if (focus) {
      focusSummary();
    }
  };

  readLocation();
  if (input && state.q) {
    input.value = state.q;
  }

  if (form && input) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      state.q = input.value.trim().slice(0, MAX_QUERY_LENGTH);
      state.page = 1;
      state.section = "";
      run({ focus: false });
    });
  }

  if (state.q) {
    run({ focus: false });
  }
}

function init() {
  initQuickExit();
  initSearch();
  initTypeaheads();
  initTraining();
  initBell();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
