// Members' login: email and password (POST /api/session), then a code from
// the authenticator app or a recovery code (POST /api/session/mfa), or a
// passkey instead of the code (POST /api/session/passkey).

import { get, post, resetCSRF } from "./api.js";
import { normalizeCode, isSixDigits, safeNext, looksLikeEmail } from "./ui.js";
import { assert, passkeysSupported } from "./passkey.js";

export function initLogin(root, ui) {
  const t = ui.t;
  const passwordForm = root.querySelector("#login-password-form");
  const codeForm = root.querySelector("#login-code-form");
  const email = root.querySelector("#login-email");
  const password = root.querySelector("#login-password");
  const code = root.querySelector("#login-code");
  const recovery = root.querySelector("#login-recovery");
  const appBox = root.querySelector("#login-code-app");
  const recoveryBox = root.querySelector("#login-code-recovery");
  const toggle = root.querySelector("#login-toggle");
  const restart = root.querySelector("#login-restart");
  const passkey = root.querySelector("#login-passkey");
  passkey.hidden = !passkeysSupported();

  const params = new URLSearchParams(window.location.search);
  const next = safeNext(params.get("next")) || root.getAttribute("data-account-url") || "/" + ui.lang + "/account/";
  let mode = "app";

  if (params.has("loggedout")) {
    ui.status(t("login_logged_out"));
    params.delete("loggedout");
    const query = params.toString();
    history.replaceState(history.state, "", window.location.pathname + (query ? "?" + query : ""));
  }

  const setMode = (value) => {
    mode = value;
    appBox.hidden = mode !== "app";
    recoveryBox.hidden = mode !== "recovery";
    toggle.textContent = toggle.getAttribute(mode === "app" ? "data-label-recovery" : "data-label-app");
    ui.fieldError(code, null);
    ui.fieldError(recovery, null);
  };

  const showPasswordStep = () => {
    codeForm.hidden = true;
    passwordForm.hidden = false;
    code.value = "";
    recovery.value = "";
    setMode("app");
  };

  const showCodeStep = () => {
    passwordForm.hidden = true;
    codeForm.hidden = false;
    setMode("app");
    code.focus();
  };

  // Already logged in: straight on. Half logged in (password accepted
  // earlier in this browser): the code step.
  get("/me").then((result) => {
    if (result.ok) {
      window.location.replace(next);
    } else if (result.status === 403 && result.error.code === "second_factor_required" && !email.value) {
      showCodeStep();
    }
  });

  ui.onSubmit(passwordForm, async () => {
    ui.clear();
    ui.clearFieldErrors(passwordForm);
    const errors = [];
    if (!email.value.trim()) {
      errors.push([email, t("app_error_required")]);
    } else if (!looksLikeEmail(email)) {
      errors.push([email, t("app_error_email")]);
    }
    if (!password.value) {
      errors.push([password, t("app_error_required")]);
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const result = await post("/session", { email: email.value.trim(), password: password.value });
    if (result.ok) {
      resetCSRF(); // a new (half-authenticated) session
      showCodeStep();
      return;
    }
    if (result.status === 401) {
      ui.fieldError(password, t("login_invalid"));
      password.focus();
      password.select();
      return;
    }
    ui.alert(ui.message(result));
  });

  // The full session replaces the half one: on to where the member was going.
  const loggedIn = () => {
    resetCSRF();
    ui.status(t("login_success"));
    window.location.assign(next);
  };

  // The half-authenticated session is gone (expired, or replaced).
  const expired = () => {
    resetCSRF();
    showPasswordStep();
    ui.fieldError(password, t("login_expired"));
    password.value = "";
    password.focus();
  };

  ui.onClick(passkey, async () => {
    ui.clear();
    ui.clearFieldErrors(codeForm);
    const result = await assert("/session/passkey/options", "/session/passkey");
    if (result.ok) {
      loggedIn();
      return;
    }
    const input = mode === "app" ? code : recovery;
    switch (result.error.code) {
      case "no_passkey":
        ui.alert(t("login_passkey_none"));
        input.focus();
        return;
      case "passkey_cancelled":
        ui.alert(t("login_passkey_cancelled"));
        return;
      case "passkey_failed":
      case "passkey_rejected":
      case "invalid_credentials":
        ui.alert(t("login_passkey_failed"));
        return;
    }
    if (result.status === 401 || (result.status === 403 && result.error.code !== "csrf_invalid")) {
      expired();
      return;
    }
    ui.alert(ui.message(result));
  });

  ui.onSubmit(codeForm, async () => {
    ui.clear();
    ui.clearFieldErrors(codeForm);
    const input = mode === "app" ? code : recovery;
    let value = input.value.trim();
    if (mode === "app") {
      value = normalizeCode(value);
      if (!isSixDigits(value)) {
        ui.showErrors([[code, t(value ? "app_error_code" : "app_error_required")]]);
        return;
      }
    } else if (!value) {
      ui.showErrors([[recovery, t("app_error_required")]]);
      return;
    }
    const result = await post("/session/mfa", { code: value });
    if (result.ok) {
      loggedIn();
      return;
    }
    if (result.status === 401 && result.error.code === "invalid_credentials") {
      ui.fieldError(input, t(mode === "app" ? "login_code_invalid" : "login_recovery_invalid"));
      input.focus();
      input.select();
      return;
    }
    if (result.status === 401 || result.status === 403) {
      expired();
      return;
    }
    ui.alert(ui.message(result));
  });

  toggle.addEventListener("click", () => {
    setMode(mode === "app" ? "recovery" : "app");
    (mode === "app" ? code : recovery).focus();
  });

  restart.addEventListener("click", () => {
    ui.clear();
    resetCSRF();
    showPasswordStep();
    password.value = "";
    (email.value ? password : email).focus();
  });
}
