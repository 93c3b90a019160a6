// Notifications page (layout account-notifications): the inbox
// (GET /api/me/notifications, mark read), the saved searches with their
// alert settings (GET/PATCH/DELETE /api/me/saved-searches) and the
// followed records (GET/DELETE /api/me/follows). The inbox comes checked
// from the API: a record the member may no longer see is not in it.
// Everything from the API is inserted as text.

import { get, post, patch, del, seg } from "../members/api.js";
import { el } from "../lib/dom.js";
import { bdi, nodesFrom } from "../members/ui.js";
import { handledFailure, tlpBadge, documentURL, validID } from "../research/common.js";

const ALERTS = ["off", "daily", "weekly"];
const FILTERS = ["topics", "type", "language", "regions", "countries", "tlp"];

export async function initNotifications(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#notifications-content");
  const inboxHeading = root.querySelector("#inbox-heading");
  const inboxList = root.querySelector("#inbox-list");
  const inboxEmpty = root.querySelector("#inbox-empty");
  const markAll = root.querySelector("#inbox-mark-all");
  const savedHeading = root.querySelector("#saved-heading");
  const savedList = root.querySelector("#saved-list");
  const savedEmpty = root.querySelector("#saved-empty");
  const followsHeading = root.querySelector("#follows-heading");
  const followsList = root.querySelector("#follows-list");
  const followsEmpty = root.querySelector("#follows-empty");
  const searchBase = root.getAttribute("data-search-url") || "/" + ui.lang + "/research/";
  const documentBase = root.getAttribute("data-document-url") || "/" + ui.lang + "/research/document/";

  // A failed request: the login notice for an ended session (the page
  // then hides its content), else the API's message.
  const failed = (result) => {
    if (handledFailure(root, ui, result)) {
      content.hidden = true;
    } else {
      ui.alert(ui.message(result));
    }
  };

  const recordNode = (rec, link) => {
    const title = bdi(rec.title);
    return link && validID(rec.id) ? el("a", { href: documentURL(documentBase, rec.id) }, [title]) : title;
  };

  const inboxItem = (it) => {
    const rec = it.record || {};
    let lead;
    if (it.kind === "match") {
      lead = nodesFrom(t("alerts_kind_match"), { name: bdi(it.search && it.search.name) });
    } else if (it.kind === "version") {
      lead = nodesFrom(t("alerts_kind_version"), { version: String(Number(rec.version) || "") });
    } else {
      lead = nodesFrom(t("alerts_kind_withdrawn"), {});
    }
    const line = el("p", { class: "inbox-line" }, [...lead, " ", recordNode(rec, it.kind !== "withdrawn"), " ", tlpBadge(rec.tlp)]);
    const item = el("li", { class: it.read ? "inbox-item" : "inbox-item inbox-unread" }, [
      it.read ? null : el("p", { class: "inbox-flag", text: t("alerts_unread") }),
      line,
      el("p", { class: "inbox-date" }, [ui.time(it.createdAt)]),
    ]);
    if (!it.read) {
      const button = el("button", { type: "button", class: "button button-secondary", text: t("alerts_mark_read") });
      ui.onClick(button, async () => {
        const result = await post("/me/notifications/read", { id: Number(it.id) });
        if (!result.ok) {
          failed(result);
          return;
        }
        if (await loadInbox()) {
          ui.status(t("alerts_marked"));
          ui.focus(inboxHeading);
        }
      });
      item.append(el("div", { class: "app-actions" }, [button]));
    }
    return item;
  };

  const loadInbox = async () => {
    const result = await get("/me/notifications");
    if (!result.ok) {
      failed(result);
      return false;
    }
    const data = result.data || {};
    const items = Array.isArray(data.items) ? data.items.filter((it) => it && typeof it === "object") : [];
    const unread = Number(data.unread) || 0;
    inboxList.replaceChildren(...items.map(inboxItem));
    inboxList.hidden = items.length === 0;
    inboxEmpty.hidden = items.length > 0;
    markAll.hidden = unread === 0;
    document.dispatchEvent(new CustomEvent("portal:unread", { detail: unread }));
    return true;
  };

  ui.onClick(markAll, async () => {
    const result = await post("/me/notifications/read", {});
    if (!result.ok) {
      failed(result);
      return;
    }
    if (await loadInbox()) {
      ui.status(t("alerts_marked"));
      ui.focus(inboxHeading);
    }
  });

  // The search page's address for a saved search.
  const searchURL = (ss) => {
    const params = new URLSearchParams();
    if (ss.text) {
      params.set("q", ss.text);
    }
    const filters = ss.filters || {};
    for (const key of FILTERS) {
      for (const value of Array.isArray(filters[key]) ? filters[key] : []) {
        params.append(key, String(value));
      }
    }
    for (const key of ["year_from", "year_to"]) {
      if (Number(filters[key]) > 0) {
        params.set(key, String(filters[key]));
      }
    }
    const query = params.toString();
    return searchBase + (query ? "?" + query : "");
  };

  const savedItem = (ss, index) => {
    const selectID = "saved-alert-" + index;
    const select = el(
      "select",
      { id: selectID },
      ALERTS.map((a) => el("option", { value: a, text: t("alerts_alert_" + a), selected: a === ss.alert })),
    );
    select.addEventListener("change", async () => {
      const result = await patch("/me/saved-searches/" + seg(ss.id), { alert: select.value });
      if (!result.ok) {
        // Not saved: show what the server still holds.
        select.value = ss.alert;
        failed(result);
        return;
      }
      ss.alert = select.value;
      ui.status(t("alerts_saved"));
    });
    const remove = el("button", { type: "button", class: "button button-secondary" }, [...nodesFrom(t("alerts_delete"), { name: bdi(ss.name) })]);
    ui.onClick(remove, async () => {
      const result = await del("/me/saved-searches/" + seg(ss.id));
      if (!result.ok) {
        failed(result);
        return;
      }
      if (await loadSaved()) {
        ui.status(t("alerts_deleted"));
        ui.focus(savedHeading);
      }
    });
    return el("li", { class: "saved-search" }, [
      el("h3", null, [bdi(ss.name)]),
      el("p", null, [el("a", { href: searchURL(ss) }, [...nodesFrom(t("alerts_search_run"), { name: bdi(ss.name) })])]),
      el("div", { class: "field" }, [el("label", { for: selectID }, [...nodesFrom(t("alerts_alert_label"), { name: bdi(ss.name) })]), select]),
      el("div", { class: "app-actions" }, [remove]),
    ]);
  };

  // loadList fills one of the page's lists from path (its items under key),
  // or shows that it is empty; false if the request failed.
  const loadList = async (path, key, listEl, emptyEl, item) => {
    const result = await get(path);
    if (!result.ok) {
      failed(result);
      return false;
    }
    const list = Array.isArray(result.data && result.data[key]) ? result.data[key] : [];
    listEl.replaceChildren(...list.map(item));
    listEl.hidden = list.length === 0;
    emptyEl.hidden = list.length > 0;
    return true;
  };
  const loadSaved = () => loadList("/me/saved-searches", "searches", savedList, savedEmpty, savedItem);

  const followItem = (f) => {
    const title = f.title ? recordNode({ id: f.docId, title: f.title }, true) : document.createTextNode(t("alerts_follow_hidden"));
    const stop = el("button", { type: "button", class: "button button-secondary", text: t("alerts_unfollow") });
    if (f.title) {
      stop.append(" ", el("span", { class: "visually-hidden" }, [bdi(f.title)]));
    }
    ui.onClick(stop, async () => {
      const result = await del("/me/follows/" + seg(f.docId));
      if (!result.ok) {
        failed(result);
        return;
      }
      if (await loadFollows()) {
        ui.status(t("alerts_unfollowed"));
        ui.focus(followsHeading);
      }
    });
    return el("li", { class: "follow" }, [el("p", null, [title]), el("div", { class: "app-actions" }, [stop])]);
  };

  const loadFollows = () => loadList("/me/follows", "follows", followsList, followsEmpty, followItem);

  ui.status(t("app_loading"));
  if (!(await loadInbox()) || !(await loadSaved()) || !(await loadFollows())) {
    return;
  }
  ui.clear();
  content.hidden = false;
}
