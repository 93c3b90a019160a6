// Administration, audit log: GET /api/admin/audit with filters and pages.
// The filters live in this page's address (?actor=&action=&since=&until=&page=,
// dates as YYYY-MM-DD), so a filtered view can be reloaded, shared with
// another administrator and navigated with Back and Forward.

import { get } from "./api.js";
import { bdi } from "./ui.js";
import { el } from "../lib/dom.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const FIELDS = ["actor", "action", "since", "until"];

// Local midnight of a YYYY-MM-DD date, plus days, as RFC 3339 (UTC).
function dayStart(value, plusDays) {
  const [y, m, d] = value.split("-").map((n) => parseInt(n, 10));
  const date = new Date(y, m - 1, d + (plusDays || 0));
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function initAudit(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#audit-content");
  const forbidden = root.querySelector("#app-forbidden");
  const form = root.querySelector("#audit-filters");
  const clear = root.querySelector("#audit-clear");
  const heading = root.querySelector("#audit-list-heading");
  const total = root.querySelector("#audit-total");
  const body = root.querySelector("#audit-body");
  const tableWrap = body.closest(".table-wrap");
  const pages = root.querySelector("#audit-pages");
  const inputs = {
    actor: root.querySelector("#audit-actor"),
    action: root.querySelector("#audit-action"),
    since: root.querySelector("#audit-since"),
    until: root.querySelector("#audit-until"),
  };

  const state = { actor: "", action: "", since: "", until: "", page: 1 };

  const readLocation = () => {
    const params = new URLSearchParams(window.location.search);
    state.actor = (params.get("actor") || "").trim().slice(0, 254);
    state.action = (params.get("action") || "").trim().slice(0, 64);
    state.since = DATE.test(params.get("since") || "") ? params.get("since") : "";
    state.until = DATE.test(params.get("until") || "") ? params.get("until") : "";
    const page = parseInt(params.get("page") || "1", 10);
    state.page = Number.isFinite(page) && page > 0 ? page : 1;
    for (const name of FIELDS) {
      inputs[name].value = state[name];
    }
  };

  const pageURL = (next) => {
    const params = new URLSearchParams();
    for (const name of FIELDS) {
      if (next[name]) {
        params.set(name, next[name]);
      }
    }
    if (next.page > 1) {
      params.set("page", String(next.page));
    }
    const query = params.toString();
    return window.location.pathname + (query ? "?" + query : "");
  };

  // Same-page links (actor filter, pages): real links, handled in place.
  const navLink = (attrs, next) => {
    const link = el("a", Object.assign({ href: pageURL(next) }, attrs));
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      go(next);
    });
    return link;
  };

  const outcomeTag = (outcome) => {
    const kind = outcome === "success" ? "ok" : outcome === "denied" ? "bad" : "warn";
    return el("span", { class: "tag tag-" + kind, text: t("audit_outcome_" + outcome) || String(outcome || "") });
  };

  const row = (entry) => {
    let actor;
    if (entry.actor) {
      const label = String(entry.actorEmail || entry.actor);
      actor = navLink(
        { "aria-label": t("audit_filter_actor", { actor: label }) },
        { actor: String(entry.actor), action: state.action, since: state.since, until: state.until, page: 1 },
      );
      actor.append(bdi(label));
    } else {
      actor = document.createTextNode(t("audit_system"));
    }
    return el("tr", null, [
      el("td", null, [ui.time(entry.time, { dateStyle: "short", timeStyle: "medium" })]),
      el("td", null, [actor]),
      el("td", null, [el("code", { dir: "ltr", text: String(entry.action || "") })]),
      el("td", null, [bdi(entry.target)]),
      el("td", null, [el("span", { dir: "ltr", text: String(entry.ip || "") })]),
      el("td", null, [outcomeTag(entry.outcome)]),
      el("td", null, [bdi(entry.detail)]),
    ]);
  };

  const renderPages = (page, totalPages) => {
    const list = pages.querySelector("ul");
    if (totalPages <= 1) {
      pages.hidden = true;
      list.replaceChildren();
      return;
    }
    const items = [];
    const base = { actor: state.actor, action: state.action, since: state.since, until: state.until };
    if (page > 1) {
      items.push(el("li", null, [navLink({ class: "pager-prev", rel: "prev", text: t("audit_previous") }, Object.assign({}, base, { page: page - 1 }))]));
    }
    items.push(el("li", { class: "pager-status", text: t("audit_page_status", { page, total: totalPages }) }));
    if (page < totalPages) {
      items.push(el("li", null, [navLink({ class: "pager-next", rel: "next", text: t("audit_next") }, Object.assign({}, base, { page: page + 1 }))]));
    }
    list.replaceChildren(...items);
    pages.hidden = false;
  };

  let loading = 0;
  const load = async (focus) => {
    const id = ++loading;
    const params = new URLSearchParams();
    if (state.actor) {
      params.set("actor", state.actor);
    }
    if (state.action) {
      params.set("action", state.action);
    }
    if (state.since) {
      params.set("since", dayStart(state.since, 0));
    }
    if (state.until) {
      params.set("until", dayStart(state.until, 1)); // the whole "until" day
    }
    params.set("page", String(state.page));
    body.closest("table").setAttribute("aria-busy", "true");
    const result = await get("/admin/audit?" + params.toString());
    body.closest("table").removeAttribute("aria-busy");
    if (id !== loading) {
      return false;
    }
    if (!result.ok) {
      if (ui.refused(result, content)) {
        return false;
      }
      ui.alert(result.status === 400 ? t("audit_invalid") : ui.message(result));
      return true;
    }
    const data = result.data || {};
    const entries = Array.isArray(data.entries) ? data.entries : [];
    const count = Number(data.total) || 0;
    body.replaceChildren(...entries.map(row));
    tableWrap.hidden = entries.length === 0;
    // #audit-total is itself a polite live region: the count is announced
    // without being shown twice.
    total.textContent = entries.length === 0 ? t("audit_empty") : t("audit_total", { count });
    renderPages(Number(data.page) || state.page, Number(data.totalPages) || 0);
    if (focus) {
      ui.focus(heading);
    }
    return true;
  };

  const go = (next) => {
    Object.assign(state, next);
    for (const name of FIELDS) {
      inputs[name].value = state[name];
    }
    history.pushState(null, "", pageURL(state));
    ui.clear();
    load(true);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = { page: 1 };
    for (const name of FIELDS) {
      next[name] = inputs[name].value.trim();
    }
    go(next);
  });

  clear.addEventListener("click", () => {
    go({ actor: "", action: "", since: "", until: "", page: 1 });
  });

  window.addEventListener("popstate", () => {
    readLocation();
    ui.clear();
    load(false);
  });

  // Start: only administrators get further than this.
  readLocation();
  ui.status(t("app_loading"));
  const who = await get("/me");
  if (!who.ok) {
    if (!ui.refused(who, content)) {
      ui.alert(ui.message(who));
    }
    return;
  }
  if (!who.data || who.data.role !== "admin") {
    ui.clear();
    forbidden.hidden = false;
    return;
  }
  ui.clear();
  content.hidden = false;
  await load(false);
}
