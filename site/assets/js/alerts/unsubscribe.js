// Unsubscribe link: /<lang>/account/unsubscribe/#token=…, in every alert
// mail (alerts/digest.go). The fragment never reaches a server; the token
// is read once and removed from the address bar, and the reader's press
// of the button sends it to POST /api/alerts/unsubscribe, which turns off
// the alert of that one saved search, or ends that one follow. No sign-in
// is needed.

import { post } from "../members/api.js";

const TOKEN = /^[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/;

export function initUnsubscribe(root, ui) {
  const t = ui.t;
  const actions = root.querySelector("#unsubscribe-actions");
  const button = root.querySelector("#unsubscribe-button");
  const done = root.querySelector("#unsubscribe-done");
  const doneText = root.querySelector("#unsubscribe-done-text");

  let token = "";
  const hash = window.location.hash.replace(/^#/, "");
  if (hash) {
    token = new URLSearchParams(hash).get("token") || "";
    history.replaceState(history.state, "", window.location.pathname + window.location.search);
  }
  if (!TOKEN.test(token)) {
    ui.alert(t("alerts_unsub_missing"));
    return;
  }
  actions.hidden = false;
  ui.onClick(button, async () => {
    ui.clear();
    const result = await post("/alerts/unsubscribe", { token });
    if (result.ok) {
      actions.hidden = true;
      const data = result.data || {};
      doneText.textContent =
        data.kind === "follow" ? t("alerts_unsub_follow_done") : t("alerts_unsub_done", { name: String(data.name || "") });
      done.hidden = false;
      ui.focus(done.querySelector("h2"));
    } else if (result.status === 404) {
      ui.alert(t("alerts_unsub_invalid"));
    } else {
      ui.alert(ui.message(result));
    }
  });
}
