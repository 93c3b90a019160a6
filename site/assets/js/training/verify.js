// Training, verification page: GET /api/training/verify?code= (public).
// The code is in the page's address (?code=), so a link from a completion
// opens the answer; the API's answer is shown as text.

import { get } from "../members/api.js";
import { bdi } from "../members/ui.js";

// Language names in the page's language ("French"), or the code.
export function languageName(code, locale) {
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(code) || code;
  } catch (error) {
    return code;
  }
}

export function initTrainingVerify(root, ui) {
  const t = ui.t;
  const form = root.querySelector("#verify-form");
  const input = root.querySelector("#verify-code");
  const box = root.querySelector("#verify-result");

  const check = async (code) => {
    box.hidden = true;
    ui.clear();
    ui.fieldError(input, null);
    if (!code) {
      ui.showErrors([[input, t("trainingapp_verify_required")]]);
      return;
    }
    const result = await get("/training/verify?code=" + encodeURIComponent(code));
    if (!result.ok) {
      if (result.status === 404 || result.status === 400) {
        ui.fieldError(input, t("trainingapp_verify_not_found"));
        ui.alert(t("trainingapp_verify_not_found"));
      } else {
        ui.alert(ui.message(result));
      }
      return;
    }
    const v = result.data || {};
    const set = (name, node) => box.querySelector('[data-value="' + name + '"]').replaceChildren(node);
    set("moduleTitle", bdi(v.moduleTitle));
    set("learnerName", bdi(v.learnerName));
    set("issuedAt", ui.time(v.issuedAt, { dateStyle: "long", timeZone: "UTC" }));
    set("lang", document.createTextNode(languageName(String(v.lang || ""), ui.locale)));
    for (const row of box.querySelectorAll("[data-optional]")) {
      const name = row.getAttribute("data-optional");
      row.hidden = !v[name];
    }
    if (v.moduleVersion) {
      set("moduleVersion", document.createTextNode(String(v.moduleVersion)));
      box.querySelector("[data-version-current]").hidden = v.currentVersion !== true;
      box.querySelector("[data-version-old]").hidden = v.currentVersion !== false;
    }
    if (v.expiresAt) {
      set("expiresAt", ui.time(v.expiresAt, { dateStyle: "long", timeZone: "UTC" }));
    }
    const status = v.revoked === true ? "revoked" : v.expired === true ? "expired" : "valid";
    for (const s of box.querySelectorAll("[data-status]")) {
      s.hidden = s.getAttribute("data-status") !== status;
    }
    box.hidden = false;
    ui.status(t("trainingapp_verify_found"));
    ui.focus(box);
  };

  ui.onSubmit(form, async () => {
    const code = input.value.trim();
    const url = window.location.pathname + (code ? "?code=" + encodeURIComponent(code) : "");
    window.history.replaceState(null, "", url);
    await check(code);
  });

  // Receipts are signed: the key they are checked with is shown here.
  get("/training/receipts/key").then((result) => {
    const p = root.parentNode.querySelector("[data-receipt-key]") || document.querySelector("[data-receipt-key]");
    if (result.ok && result.data && typeof result.data.publicKey === "string" && p) {
      p.querySelector("[data-receipt-key-value]").textContent = result.data.publicKey;
      p.hidden = false;
    }
  });

  // Completion codes are 19 characters; receipt codes carry what they
  // certify and its signature.
  const initial = (new URLSearchParams(window.location.search).get("code") || "").trim().slice(0, 1024);
  if (initial) {
    input.value = initial;
    check(initial);
  }
}
