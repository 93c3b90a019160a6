// The step-up prompt. Acts that change who someone is need a second factor
// passed within the last minutes (account.StepUpWindow); the API refuses
// them with 401 step_up_required. api.js then calls the handler installed
// here, which asks for a code in the page's <dialog id="app-step-up">
// (partial app-step-up.html), confirms it with POST /api/session/step-up,
// or takes a passkey instead (passkey.js), and lets api.js repeat the
// refused request once.

import { onStepUp, post } from "./api.js";
import { normalizeCode, isSixDigits } from "./ui.js";
import { passkeysSupported, stepUpWithPasskey } from "./passkey.js";

export function installStepUp(ui) {
  const t = ui.t;
  const dialog = document.getElementById("app-step-up");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  const form = dialog.querySelector("#app-step-up-form");
  const code = dialog.querySelector("#step-up-code");
  const cancel = dialog.querySelector('[data-step-up="cancel"]');
  const passkey = dialog.querySelector('[data-step-up="passkey"]');
  if (passkey) {
    passkey.hidden = !passkeysSupported();
  }
  let pending = null; // one prompt for requests refused together

  const ask = () =>
    new Promise((resolve) => {
      let done = false;
      let busy = false;
      const finish = (ok) => {
        if (done) {
          return;
        }
        done = true;
        form.removeEventListener("submit", onSubmit);
        cancel.removeEventListener("click", onCancel);
        if (passkey) {
          passkey.removeEventListener("click", onPasskey);
        }
        dialog.removeEventListener("keydown", onKey);
        dialog.removeEventListener("close", onClose);
        if (dialog.open) {
          dialog.close();
        }
        resolve(ok);
      };
      const onSubmit = async (event) => {
        event.preventDefault();
        if (busy) {
          return;
        }
        const value = normalizeCode(code.value);
        if (!isSixDigits(value)) {
          ui.fieldError(code, t("app_error_code"));
          code.focus();
          return;
        }
        busy = true;
        const result = await post("/session/step-up", { code: value });
        busy = false;
        if (result.ok) {
          finish(true);
          return;
        }
        let message = ui.message(result);
        if (result.status === 401 && result.error.code === "invalid_credentials") {
          message = t("app_step_up_wrong");
        }
        ui.fieldError(code, message);
        code.select();
        code.focus();
      };
      const onPasskey = async () => {
        if (busy) {
          return;
        }
        busy = true;
        ui.fieldError(code, null);
        const result = await stepUpWithPasskey();
        busy = false;
        if (result.ok) {
          finish(true);
          return;
        }
        ui.fieldError(code, t(result.error.code === "no_passkey" ? "app_step_up_no_passkey" : "app_step_up_passkey_failed"));
        code.focus();
      };
      const onCancel = () => finish(false);
      const onClose = () => finish(false);
      // Escape cancels the prompt; it must not also count towards the
      // quick exit's double Escape.
      const onKey = (event) => {
        if (event.key === "Escape" || event.key === "Esc") {
          event.stopPropagation();
        }
      };
      form.addEventListener("submit", onSubmit);
      cancel.addEventListener("click", onCancel);
      if (passkey) {
        passkey.addEventListener("click", onPasskey);
      }
      dialog.addEventListener("keydown", onKey);
      dialog.addEventListener("close", onClose);
      code.value = "";
      ui.fieldError(code, null);
      dialog.showModal();
      code.focus();
    });

  onStepUp(() => {
    if (!pending) {
      const focused = document.activeElement;
      pending = ask().finally(() => {
        pending = null;
        if (focused && document.contains(focused) && typeof focused.focus === "function") {
          focused.focus();
        }
      });
    }
    return pending;
  });
}
