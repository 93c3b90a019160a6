// My account: who I am (GET /api/me), my sessions, my passkeys, password
// change, new recovery codes, log out. Not logged in → the login page.

import { get, post, patch, del, seg, resetCSRF, groupNames } from "./api.js";
import { bdi, nodesFrom, MIN_PASSWORD, passwordLength } from "./ui.js";
import { el } from "../lib/dom.js";
import { cancelled, createPasskey, passkeysSupported, stepUpWithPasskey } from "./passkey.js";
import { initAttestationSection } from "./attestation.js";

// A short, readable name for a User-Agent string ("Firefox on Windows").
// Order matters: Edge and Opera say "Chrome", Chrome says "Safari",
// Android says "Linux", iOS says "Mac OS X".
export function describeBrowser(ua, t) {
  const s = String(ua || "");
  const browser = /Edg(e|A|iOS)?\//.test(s)
    ? "Edge"
    : /OPR\/|Opera/.test(s)
      ? "Opera"
      : /Firefox\/|FxiOS\//.test(s)
        ? "Firefox"
        : /Chrome\/|Chromium\/|CriOS\//.test(s)
          ? "Chrome"
          : /Safari\//.test(s)
            ? "Safari"
            : "";
  const os = /Windows/.test(s)
    ? "Windows"
    : /Android/.test(s)
      ? "Android"
      : /iPhone|iPad|iPod/.test(s)
        ? "iOS"
        : /CrOS/.test(s)
          ? "ChromeOS"
          : /Mac OS X|Macintosh/.test(s)
            ? "macOS"
            : /Linux/.test(s)
              ? "Linux"
              : "";
  if (browser && os) {
    return t("account_browser_on", { browser, os });
  }
  return browser || os || t("account_browser_unknown");
}

export function initAccount(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#account-content");
  const details = root.querySelector("#account-details");
  const adminLinks = root.querySelector("#account-admin");
  const logout = root.querySelector("#account-logout");
  const sessionsHeading = root.querySelector("#account-sessions-heading");
  const sessionsBody = root.querySelector("#account-sessions-body");
  const passwordForm = root.querySelector("#account-password-form");
  const current = root.querySelector("#account-current");
  const fresh = root.querySelector("#account-new");
  const fresh2 = root.querySelector("#account-new2");
  const recoveryForm = root.querySelector("#account-recovery-form");
  const recoveryPassword = root.querySelector("#account-recovery-password");
  const codesBox = root.querySelector("#account-codes");
  const codesBlock = root.querySelector("#account-recovery-codes");
  const codesDone = root.querySelector("#account-codes-done");
  const passkeysHeading = root.querySelector("#account-passkeys-heading");
  const passkeysUnsupported = root.querySelector("#account-passkeys-unsupported");
  const passkeysEmpty = root.querySelector("#account-passkeys-empty");
  const passkeysTable = root.querySelector("#account-passkeys-table");
  const passkeysBody = root.querySelector("#account-passkeys-body");
  const passkeyForm = root.querySelector("#account-passkey-form");
  const passkeyName = root.querySelector("#account-passkey-name");
  const passkeyPassword = root.querySelector("#account-passkey-password");
  const stepUpBox = root.querySelector("#account-passkey-stepup");
  const stepUpButton = root.querySelector("#account-passkey-stepup-button");
  const canPasskey = passkeysSupported();
  let role = "";

  // Handles what every failed request may mean; true when handled.
  const failed = (result) => {
    if (ui.needsLogin(result) && result.error.code !== "invalid_credentials") {
      ui.toLogin();
      return true;
    }
    return false;
  };

  const showUser = (user) => {
    const set = (name, node) => details.querySelector('[data-value="' + name + '"]').replaceChildren(node);
    set("displayName", bdi(user.displayName));
    set("email", bdi(user.email));
    set("role", document.createTextNode(ui.roleLabel(user.role)));
    set("groups", ui.groupsNode(user.groups));
    set("createdAt", ui.time(user.createdAt, { dateStyle: "long" }));
    for (const input of root.querySelectorAll('input[name="username"][data-value="email"]')) {
      input.value = String(user.email || "");
    }
    if (adminLinks) {
      adminLinks.hidden = user.role !== "admin";
    }
  };

  const sessionRow = (session) => {
    const browser = describeBrowser(session.userAgent, t);
    const lastSeen = ui.formatDate(session.lastSeenAt);
    let action;
    if (session.current) {
      action = el("span", { class: "tag tag-current", text: t("account_session_current") });
    } else {
      const button = el("button", {
        type: "button",
        class: "button button-secondary button-small",
        "aria-label": t("account_session_end_label", { browser, time: lastSeen }),
        text: t("account_session_end"),
      });
      ui.onClick(button, () => endSession(session));
      action = button;
    }
    const first = el("th", { scope: "row" }, [el("bdi", { text: browser })]);
    if (session.current) {
      first.classList.add("is-current");
    }
    return el("tr", null, [
      first,
      el("td", null, [el("span", { dir: "ltr", text: String(session.ip || "") })]),
      el("td", null, [ui.time(session.createdAt)]),
      el("td", null, [ui.time(session.lastSeenAt)]),
      el("td", null, [action]),
    ]);
  };

  const loadSessions = async () => {
    const result = await get("/me/sessions");
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const sessions = result.data && Array.isArray(result.data.sessions) ? result.data.sessions.slice() : [];
    sessions.sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0) || String(b.lastSeenAt).localeCompare(String(a.lastSeenAt)));
    sessionsBody.replaceChildren(...sessions.map(sessionRow));
  };

  const endSession = async (session) => {
    ui.clear();
    const result = await del("/me/sessions/" + seg(session.id));
    if (!result.ok && result.status !== 404) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    await loadSessions();
    ui.status(t("account_session_ended"));
    ui.focus(sessionsHeading);
  };

  const passkeyRow = (passkey) => {
    const name = String(passkey.name || "");
    const remove = el("button", {
      type: "button",
      class: "button button-secondary button-small",
      "aria-label": t("account_passkey_remove_label", { name }),
      text: t("account_passkey_remove"),
    });
    ui.onClick(remove, () => removePasskey(passkey));
    const rename = el("button", {
      type: "button",
      class: "button button-secondary button-small",
      "aria-label": t("account_passkey_rename_label", { name }),
      text: t("account_passkey_rename"),
    });
    const nameCell = el("th", { scope: "row" }, [el("bdi", { text: name })]);
    rename.addEventListener("click", () => editName(passkey, nameCell));
    return el("tr", null, [
      nameCell,
      el("td", null, [ui.time(passkey.createdAt)]),
      el("td", null, [passkey.lastUsedAt ? ui.time(passkey.lastUsedAt) : document.createTextNode(t("account_passkey_never"))]),
      el("td", null, [rename, document.createTextNode(" "), remove]),
    ]);
  };

  // editName turns a passkey's name cell into a field with Save and Cancel.
  const editName = (passkey, cell) => {
    const name = String(passkey.name || "");
    const input = el("input", {
      type: "text",
      maxlength: "64",
      value: name,
      class: "input-passkey-name",
      "aria-label": t("account_passkey_new_name", { name }),
    });
    const save = el("button", { type: "button", class: "button button-small", text: t("account_passkey_save") });
    const cancel = el("button", { type: "button", class: "button button-secondary button-small", text: t("account_passkey_cancel") });
    const restore = () => {
      cell.replaceChildren(el("bdi", { text: name }));
    };
    ui.onClick(save, async () => {
      ui.clear();
      const value = input.value.trim();
      if (!value) {
        ui.alert(t("app_error_required"));
        input.focus();
        return;
      }
      const result = await patch("/me/passkeys/" + seg(passkey.id), { name: value });
      if (!result.ok) {
        if (!failed(result)) {
          ui.alert(ui.message(result));
        }
        return;
      }
      await loadPasskeys();
      ui.status(t("account_passkey_renamed"));
      ui.focus(passkeysHeading);
    });
    cancel.addEventListener("click", () => {
      restore();
      ui.focus(passkeysHeading);
    });
    cell.replaceChildren(input, document.createTextNode(" "), save, document.createTextNode(" "), cancel);
    input.focus();
    input.select();
  };

  const loadPasskeys = async () => {
    const result = await get("/me/passkeys");
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const passkeys = result.data && Array.isArray(result.data.passkeys) ? result.data.passkeys : [];
    passkeysBody.replaceChildren(...passkeys.map(passkeyRow));
    passkeysTable.hidden = passkeys.length === 0;
    passkeysEmpty.hidden = passkeys.length !== 0;
    passkeysUnsupported.hidden = canPasskey;
    passkeyForm.hidden = !canPasskey;
    stepUpBox.hidden = !canPasskey || role !== "admin" || passkeys.length === 0;
  };

  const removePasskey = async (passkey) => {
    ui.clear();
    const result = await del("/me/passkeys/" + seg(passkey.id));
    if (!result.ok && result.status !== 404) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    await loadPasskeys();
    ui.status(t("account_passkey_removed"));
    ui.focus(passkeysHeading);
  };

  ui.onSubmit(passkeyForm, async () => {
    ui.clear();
    ui.clearFieldErrors(passkeyForm);
    const errors = [];
    if (!passkeyName.value.trim()) {
      errors.push([passkeyName, t("app_error_required")]);
    }
    if (!passkeyPassword.value) {
      errors.push([passkeyPassword, t("app_error_required")]);
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const options = await post("/me/passkeys/options", { password: passkeyPassword.value });
    if (!options.ok) {
      if (options.error.code === "invalid_credentials" || options.error.code === "reauthentication_required") {
        ui.fieldError(passkeyPassword, t("app_password_wrong"));
        passkeyPassword.focus();
        passkeyPassword.select();
        return;
      }
      if (!failed(options)) {
        ui.alert(ui.message(options));
      }
      return;
    }
    let credential;
    try {
      credential = await createPasskey(options.data);
    } catch (error) {
      ui.alert(t(cancelled(error) ? "account_passkey_cancelled" : "account_passkey_failed"));
      return;
    }
    const result = await post("/me/passkeys", { name: passkeyName.value.trim(), credential });
    if (result.ok) {
      passkeyForm.reset();
      showUserEmails();
      await loadPasskeys();
      ui.status(t("account_passkey_added"));
      ui.focus(passkeysHeading);
      return;
    }
    if (result.error.code === "passkey_rejected") {
      ui.alert(t("account_passkey_failed"));
      return;
    }
    if (!failed(result)) {
      ui.alert(ui.message(result));
    }
  });

  ui.onClick(stepUpButton, async () => {
    ui.clear();
    const result = await stepUpWithPasskey();
    if (result.ok) {
      ui.status(t("account_passkey_stepped_up"));
      return;
    }
    if (result.error.code === "passkey_cancelled") {
      ui.alert(t("account_passkey_cancelled"));
      return;
    }
    if (result.error.code === "passkey_failed" || result.error.code === "passkey_rejected" || result.error.code === "invalid_credentials") {
      ui.alert(t("account_passkey_stepup_failed"));
      return;
    }
    if (!failed(result)) {
      ui.alert(ui.message(result));
    }
  });

  ui.onSubmit(passwordForm, async () => {
    ui.clear();
    ui.clearFieldErrors(passwordForm);
    const errors = [];
    if (!current.value) {
      errors.push([current, t("app_error_required")]);
    }
    if (!fresh.value) {
      errors.push([fresh, t("app_error_required")]);
    } else if (passwordLength(fresh.value) < MIN_PASSWORD) {
      errors.push([fresh, t("app_password_short")]);
    }
    if (fresh.value && fresh2.value !== fresh.value) {
      errors.push([fresh2, t(fresh2.value ? "app_password_mismatch" : "app_error_required")]);
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const result = await post("/me/password", { currentPassword: current.value, newPassword: fresh.value });
    if (result.ok) {
      resetCSRF();
      passwordForm.reset();
      showUserEmails();
      ui.status(t("account_password_changed"));
      await loadSessions();
      return;
    }
    if (result.status === 400 && result.error.code === "weak_password") {
      ui.fieldError(fresh, nodesFrom(t("app_password_refused"), { reason: ui.serverText(result.error.message) }));
      fresh.focus();
      return;
    }
    if (result.error.code === "invalid_credentials" || result.error.code === "reauthentication_required") {
      ui.fieldError(current, t("app_password_wrong"));
      current.focus();
      current.select();
      return;
    }
    if (!failed(result)) {
      ui.alert(ui.message(result));
    }
  });

  ui.onSubmit(recoveryForm, async () => {
    ui.clear();
    ui.clearFieldErrors(recoveryForm);
    if (!recoveryPassword.value) {
      ui.showErrors([[recoveryPassword, t("app_error_required")]]);
      return;
    }
    const result = await post("/me/recovery-codes", { password: recoveryPassword.value });
    if (result.ok) {
      recoveryPassword.value = "";
      const codes = result.data && Array.isArray(result.data.recoveryCodes) ? result.data.recoveryCodes : [];
      ui.showCodes(codesBlock, codes);
      recoveryForm.hidden = true;
      codesBox.hidden = false;
      ui.status(t("account_recovery_created"));
      ui.focus(codesBox);
      return;
    }
    if (result.error.code === "invalid_credentials" || result.error.code === "reauthentication_required") {
      ui.fieldError(recoveryPassword, t("app_password_wrong"));
      recoveryPassword.focus();
      recoveryPassword.select();
      return;
    }
    if (!failed(result)) {
      ui.alert(ui.message(result));
    }
  });

  codesDone.addEventListener("click", () => {
    ui.clearCodes(codesBlock);
    codesBox.hidden = true;
    recoveryForm.hidden = false;
    ui.focus(root.querySelector("#account-recovery-heading"));
  });

  ui.onClick(logout, async () => {
    ui.clear();
    const result = await del("/session");
    if (!result.ok && result.status !== 401) {
      ui.alert(ui.message(result));
      return;
    }
    resetCSRF();
    const login = root.getAttribute("data-login-url") || "/" + ui.lang + "/account/login/";
    window.location.assign(login + "?loggedout=1");
  });

  let email = "";
  const showUserEmails = () => {
    for (const input of root.querySelectorAll('input[name="username"][data-value="email"]')) {
      input.value = email;
    }
  };

  const loadAttestation = initAttestationSection(root, ui, failed);

  const start = async () => {
    ui.status(t("app_loading"));
    const result = await get("/me");
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const user = result.data || {};
    email = String(user.email || "");
    role = String(user.role || "");
    ui.setGroupNames(await groupNames(ui.lang));
    showUser(user);
    content.hidden = false;
    ui.clear();
    await loadAttestation();
    await loadSessions();
    await loadPasskeys();
  };

  start();
}
