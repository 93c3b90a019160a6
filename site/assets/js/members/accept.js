// Invitation acceptance (also re-enrolment after a second-factor reset).
//
// The link is /<lang>/account/accept/#token=…: the fragment never reaches a
// server. The token is read once, removed from the address bar and kept in
// sessionStorage (this tab only) so that switching the page's language does
// not lose it; it is forgotten as soon as it is used or refused.
//
// (a) POST /api/invitations/lookup → the invitation; (b) name and password,
// POST /api/invitations/accept → TOTP secret and QR code; (c) a first code,
// POST /api/mfa/totp/confirm → recovery codes; (d) the codes, once.

import { post, resetCSRF } from "./api.js";
import { bdi, nodesFrom, normalizeCode, isSixDigits, safeSVG, MIN_PASSWORD, passwordLength } from "./ui.js";
import { el } from "../lib/dom.js";

const STORAGE_KEY = "portal.invitation";
const TOKEN = /^[A-Za-z0-9._~-]{16,512}$/;

function takeToken() {
  let token = "";
  const hash = window.location.hash.replace(/^#/, "");
  if (hash) {
    const params = new URLSearchParams(hash);
    if (params.has("token")) {
      token = params.get("token") || "";
      history.replaceState(history.state, "", window.location.pathname + window.location.search);
    }
  }
  try {
    if (TOKEN.test(token)) {
      sessionStorage.setItem(STORAGE_KEY, token);
    } else {
      token = sessionStorage.getItem(STORAGE_KEY) || "";
    }
  } catch (error) {
    // Storage refused (private mode): the token is used from memory only.
  }
  return TOKEN.test(token) ? token : "";
}

function forgetToken() {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch (error) {
    // nothing stored
  }
}

// "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP"
const groupSecret = (secret) => String(secret || "").replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ");

export function initAccept(root, ui) {
  const t = ui.t;
  const invitation = root.querySelector("#accept-invitation");
  const form = root.querySelector("#accept-password-form");
  const username = root.querySelector("#accept-username");
  const name = root.querySelector("#accept-name");
  const password = root.querySelector("#accept-password");
  const password2 = root.querySelector("#accept-password2");
  const appStep = root.querySelector("#accept-app");
  const qr = root.querySelector("#accept-qr");
  const secret = root.querySelector("#accept-secret");
  const secretCopy = root.querySelector("#accept-secret-copy");
  const otpauth = root.querySelector("#accept-otpauth");
  const codeForm = root.querySelector("#accept-code-form");
  const code = root.querySelector("#accept-code");
  const codesStep = root.querySelector("#accept-codes");
  const codesBlock = root.querySelector("#accept-recovery");

  let token = takeToken();
  let rawSecret = "";
  // A re-enrolment link (second factor reset) keeps the member's name when
  // the field is left empty. The lookup does not say so yet; "reset" is
  // read if the API adds it.
  let nameRequired = true;

  const invalid = () => {
    forgetToken();
    token = "";
    invitation.hidden = true;
    form.hidden = true;
    ui.alert(t("accept_invalid"));
  };

  const setValue = (name, node) => {
    const dd = invitation.querySelector('[data-value="' + name + '"]');
    dd.replaceChildren(node);
  };

  const lookup = async () => {
    if (!token) {
      ui.alert(t("accept_missing"));
      return;
    }
    ui.status(t("accept_checking"));
    const result = await post("/invitations/lookup", { token });
    if (!result.ok) {
      if (result.status === 410 || result.status === 400 || result.status === 404) {
        invalid();
      } else {
        ui.alert(ui.message(result));
      }
      return;
    }
    const info = result.data || {};
    setValue("email", bdi(info.email));
    setValue("role", document.createTextNode(ui.roleLabel(info.role)));
    setValue("groups", ui.groupsNode(info.groups));
    setValue("expiresAt", ui.time(info.expiresAt));
    username.value = String(info.email || "");
    if (info.reset === true) {
      nameRequired = false;
      name.required = false;
      name.removeAttribute("aria-required");
      name.value = typeof info.displayName === "string" ? info.displayName : "";
    }
    invitation.hidden = false;
    form.hidden = false;
    ui.clear();
  };

  ui.onSubmit(form, async () => {
    ui.clear();
    ui.clearFieldErrors(form);
    const errors = [];
    if (nameRequired && !name.value.trim()) {
      errors.push([name, t("app_error_required")]);
    }
    if (!password.value) {
      errors.push([password, t("app_error_required")]);
    } else if (passwordLength(password.value) < MIN_PASSWORD) {
      errors.push([password, t("app_password_short")]);
    }
    if (password.value && password2.value !== password.value) {
      errors.push([password2, t(password2.value ? "app_password_mismatch" : "app_error_required")]);
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const result = await post("/invitations/accept", { token, displayName: name.value.trim(), password: password.value });
    if (result.ok) {
      forgetToken();
      token = "";
      resetCSRF(); // an enrolment session now exists
      password.value = "";
      password2.value = "";
      showEnrolment(result.data || {});
      return;
    }
    if (result.status === 400 && result.error.code === "weak_password") {
      ui.fieldError(password, nodesFrom(t("app_password_refused"), { reason: ui.serverText(result.error.message) }));
      password.focus();
      return;
    }
    if (result.status === 400 && /name/i.test(result.error.field + " " + result.error.message)) {
      ui.fieldError(name, ui.serverText(result.error.message));
      name.focus();
      return;
    }
    if (result.status === 410) {
      invalid();
      return;
    }
    ui.alert(ui.message(result));
  });

  const showEnrolment = (enrolment) => {
    rawSecret = String(enrolment.secret || "").replace(/\s+/g, "");
    const svg = safeSVG(enrolment.qrSvg, t("accept_qr_label"));
    qr.replaceChildren(svg || el("p", { class: "app-notice", text: t("accept_qr_error") }));
    secret.textContent = groupSecret(rawSecret);
    secretCopy.setAttribute("aria-label", t("app_copy_label", { item: t("accept_secret_label") }));
    const url = String(enrolment.otpauthUrl || "");
    if (/^otpauth:\/\/totp\//.test(url)) {
      otpauth.setAttribute("href", url);
      otpauth.hidden = false;
    }
    invitation.hidden = true;
    form.hidden = true;
    appStep.hidden = false;
    ui.status(t("accept_created"));
    ui.focus(appStep.querySelector("h2"));
  };

  secretCopy.addEventListener("click", () => ui.copy(rawSecret));

  ui.onSubmit(codeForm, async () => {
    ui.clear();
    ui.clearFieldErrors(codeForm);
    const value = normalizeCode(code.value);
    if (!isSixDigits(value)) {
      ui.showErrors([[code, t(value ? "app_error_code" : "app_error_required")]]);
      return;
    }
    const result = await post("/mfa/totp/confirm", { code: value });
    if (result.ok) {
      resetCSRF(); // now a full session
      code.value = "";
      const codes = result.data && Array.isArray(result.data.recoveryCodes) ? result.data.recoveryCodes : [];
      ui.showCodes(codesBlock, codes);
      appStep.hidden = true;
      codesStep.hidden = false;
      ui.status(t("accept_enrolled"));
      ui.focus(codesStep.querySelector("h2"));
      return;
    }
    if ((result.status === 401 && result.error.code === "invalid_credentials") || result.status === 400) {
      ui.fieldError(code, t("accept_code_invalid"));
      code.focus();
      code.select();
      return;
    }
    ui.alert(ui.message(result));
  });

  // A new invitation link opened in this tab while the page is open.
  window.addEventListener("hashchange", () => {
    if (/(^|[#&])token=/.test(window.location.hash)) {
      token = takeToken();
      codesStep.hidden = true;
      appStep.hidden = true;
      lookup();
    }
  });

  lookup();
}
