// Unlock link: /<lang>/account/unlock/#token=…, mailed to a member while
// sign-in to their account from new browsers is locked. The fragment never
// reaches a server; the token is read once, removed from the address bar
// and spent with POST /api/devices/unlock, which trusts this browser. The
// member then logs in as usual.

import { post } from "./api.js";

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function initUnlock(root, ui) {
  const t = ui.t;
  const done = root.querySelector("#unlock-done");

  let token = "";
  const hash = window.location.hash.replace(/^#/, "");
  if (hash) {
    token = new URLSearchParams(hash).get("token") || "";
    history.replaceState(history.state, "", window.location.pathname + window.location.search);
  }
  if (!TOKEN.test(token)) {
    ui.alert(t("unlock_missing"));
    return;
  }
  ui.status(t("unlock_checking"));
  post("/devices/unlock", { token }).then((result) => {
    if (result.ok) {
      ui.clear();
      done.hidden = false;
      done.querySelector("h2").focus();
    } else if (result.status === 410 || result.status === 400) {
      ui.alert(t("unlock_invalid"));
    } else {
      ui.alert(ui.message(result));
    }
  });
}
