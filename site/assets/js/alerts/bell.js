// The bell in the site header (partial header.html): on the members'
// pages, the number of unread notifications (GET /api/me/notifications),
// linking to the notifications page. Hidden for readers who are not
// signed in. The count is part of the link's name ("Notifications, 3
// unread") and changes are announced through a polite live region; the
// notifications page tells the bell of changes with the event
// "portal:unread".

import { el, format } from "../lib/dom.js";
import { get } from "../members/api.js";

export function initBell() {
  const bell = document.querySelector("[data-bell]");
  if (!bell || !document.querySelector("[data-app]") || !window.fetch) {
    return;
  }
  const count = bell.querySelector("[data-bell-count]");
  const live = document.querySelector("[data-bell-status]");
  const template = bell.getAttribute("data-unread") || "{count}";
  let shown = -1;

  const show = (unread) => {
    const n = Math.max(0, Number(unread) || 0);
    const text = format(template, { count: n });
    count.replaceChildren(el("span", { "aria-hidden": "true", text: String(n) }), el("span", { class: "visually-hidden", text }));
    count.hidden = n === 0;
    bell.hidden = false;
    if (shown >= 0 && shown !== n && live) {
      live.textContent = text;
    }
    shown = n;
  };

  document.addEventListener("portal:unread", (event) => show(event.detail));
  // The unlock and unsubscribe pages are for readers who need not be
  // signed in: no request that would only answer 401.
  const app = document.querySelector("[data-app]").getAttribute("data-app");
  if (["login", "accept", "unlock", "unsubscribe"].includes(app)) {
    return;
  }
  get("/me/notifications").then((result) => {
    if (result.ok && result.data) {
      show(result.data.unread);
    }
  });
}
