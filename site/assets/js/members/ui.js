// Shared interface helpers of the members' area: localized strings, live
// regions, field errors, dates, copy and download, the confirmation dialog,
// recovery codes and the QR code. Data from the API is always inserted as
// text (textContent, createElement), never parsed as HTML.

import { el, format } from "../lib/dom.js";
import { LANGUAGES } from "../lib/vocabulary.js";

// Reads the strings the page carries in <template id="app-strings">.
function readStrings() {
  const map = new Map();
  const template = document.getElementById("app-strings");
  if (template && template.content) {
    for (const node of template.content.querySelectorAll("[data-key]")) {
      map.set(node.getAttribute("data-key"), node.textContent.trim());
    }
  }
  return map;
}

// Builds nodes from a localized template whose {placeholders} may be nodes.
export function nodesFrom(template, values) {
  const out = [];
  const pattern = /\{(\w+)\}/g;
  const text = String(template || "");
  let last = 0;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    if (match.index > last) {
      out.push(text.slice(last, match.index));
    }
    const value = values[match[1]];
    if (value instanceof Node) {
      out.push(value);
    } else if (value !== undefined && value !== null) {
      out.push(String(value));
    } else {
      out.push(match[0]);
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) {
    out.push(text.slice(last));
  }
  return out;
}

// <bdi> keeps an e-mail address or a name readable inside right-to-left text.
export const bdi = (text) => el("bdi", { text: String(text || "") });

export function createUI(root) {
  const strings = readStrings();
  const lang = LANGUAGES.includes(document.documentElement.lang) ? document.documentElement.lang : "en";
  // Arabic pages of this site use Western digits.
  const locale = lang === "ar" ? "ar-u-nu-latn" : lang;
  const status = root.querySelector("#app-status");
  const alert = root.querySelector("#app-alert");
  let sequence = 0;

  const t = (key, values) => {
    const text = strings.get(key) || "";
    return values ? format(text, values) : text;
  };

  // Live regions: emptied first and filled a moment later, so that the
  // same message said twice is announced twice.
  const say = (region, other, content) => {
    const id = ++sequence;
    region.replaceChildren();
    other.replaceChildren();
    if (content === undefined || content === null || content === "") {
      return;
    }
    window.setTimeout(() => {
      if (id === sequence) {
        region.replaceChildren(...(Array.isArray(content) ? content : [content]));
      }
    }, 50);
  };

  // Group names in the page's language, once a page has loaded them
  // (setGroupNames); until then groups show as their IDs.
  let groupNames = null;

  const ui = {
    t,
    lang,
    locale,
    root,
    // A result ("Saved."): polite.
    status(content) {
      say(status, alert, content);
    },
    // An error that concerns the whole form or page: assertive.
    alert(content) {
      say(alert, status, content);
    },
    clear() {
      sequence++;
      status.replaceChildren();
      alert.replaceChildren();
    },

    // Field errors: #<id>-error (in the markup) is filled, shown and added
    // to the input's aria-describedby; the input is marked aria-invalid.
    fieldError(input, content) {
      const error = document.getElementById(input.id + "-error");
      if (!error) {
        return;
      }
      const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== error.id);
      if (content) {
        error.replaceChildren(...(Array.isArray(content) ? content : [content]));
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        ids.push(error.id);
      } else {
        error.replaceChildren();
        error.hidden = true;
        input.removeAttribute("aria-invalid");
      }
      if (ids.length > 0) {
        input.setAttribute("aria-describedby", ids.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
    },
    clearFieldErrors(form) {
      for (const input of form.querySelectorAll("input, select")) {
        if (input.id) {
          ui.fieldError(input, null);
        }
      }
    },
    // Marks errors (a list of [input, message]); focuses the first. Returns
    // true when there were errors.
    showErrors(errors) {
      for (const [input, message] of errors) {
        ui.fieldError(input, message);
      }
      if (errors.length > 0) {
        errors[0][0].focus();
        return true;
      }
      return false;
    },

    // One submission at a time; the submit button stays focusable (a
    // disabled button would drop the focus) and says it is busy.
    onSubmit(form, handler) {
      let busy = false;
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (busy) {
          return;
        }
        busy = true;
        const buttons = form.querySelectorAll('button[type="submit"]');
        form.setAttribute("aria-busy", "true");
        buttons.forEach((button) => button.setAttribute("aria-disabled", "true"));
        try {
          await handler(event);
        } catch (error) {
          ui.alert(t("app_error_generic"));
        } finally {
          busy = false;
          form.removeAttribute("aria-busy");
          buttons.forEach((button) => button.removeAttribute("aria-disabled"));
        }
      });
    },

    // Runs an action from a button, one at a time.
    onClick(button, handler) {
      let busy = false;
      button.addEventListener("click", async (event) => {
        if (busy) {
          return;
        }
        busy = true;
        button.setAttribute("aria-disabled", "true");
        try {
          await handler(event);
        } catch (error) {
          ui.alert(t("app_error_generic"));
        } finally {
          busy = false;
          button.removeAttribute("aria-disabled");
        }
      });
    },

    // "45 seconds", "3 minutes", in the page's language and plural rules.
    duration(seconds) {
      let value = Math.max(1, Math.ceil(seconds));
      let unit = "second";
      if (value >= 90) {
        value = Math.ceil(value / 60);
        unit = "minute";
      }
      try {
        return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }).format(value);
      } catch (error) {
        return value + (unit === "second" ? " s" : " min");
      }
    },

    // The message for a failed request that no caller handled specifically.
    message(result) {
      const code = result.error ? result.error.code : "";
      if (code === "network") {
        return t("app_error_network");
      }
      if (result.status === 429) {
        let seconds = result.retryAfter;
        if (!seconds) {
          const match = /(\d+)/.exec(result.error.message || "");
          seconds = match ? parseInt(match[1], 10) : 60;
        }
        return t("app_error_throttled", { time: ui.duration(seconds) });
      }
      if (code === "unauthenticated" || code === "second_factor_required") {
        return t("app_error_session");
      }
      if (code === "step_up_required") {
        return t("app_error_step_up");
      }
      if (code === "forbidden") {
        return t("app_error_forbidden");
      }
      // Other refusals explain themselves; the API words them in English.
      // A suspended member's sign-in names whom to contact (package attest).
      if ((result.status === 400 || result.status === 409 || code === "membership_suspended") && result.error.message) {
        return ui.serverText(result.error.message);
      }
      return t("app_error_generic");
    },
    // A message written by the server (in English), marked as such.
    serverText(message) {
      return el("span", { lang: "en", dir: "ltr", text: String(message || "") });
    },

    // Dates.
    formatDate(value, options) {
      const date = new Date(value);
      if (!value || Number.isNaN(date.getTime())) {
        return "";
      }
      try {
        return new Intl.DateTimeFormat(locale, options || { dateStyle: "medium", timeStyle: "short" }).format(date);
      } catch (error) {
        return date.toISOString();
      }
    },
    time(value, options) {
      const text = ui.formatDate(value, options);
      return text ? el("time", { datetime: new Date(value).toISOString(), text }) : document.createTextNode("");
    },

    roleLabel(role) {
      return t("app_role_" + role) || String(role || "");
    },
    setGroupNames(names) {
      groupNames = names instanceof Map ? names : null;
    },
    groupsNode(groups) {
      const list = Array.isArray(groups) ? groups.filter((g) => typeof g === "string" && g) : [];
      if (list.length === 0) {
        return document.createTextNode(t("app_groups_none"));
      }
      if (groupNames) {
        return el("span", { dir: "auto", class: "groups", text: list.map((g) => groupNames.get(g) || g).join(", ") });
      }
      return el("span", { dir: "ltr", class: "groups", text: list.join(", ") });
    },

    // Sends the reader to the login page, to come back here afterwards.
    toLogin() {
      const login = root.getAttribute("data-login-url") || "/" + lang + "/account/login/";
      const next = window.location.pathname + window.location.search;
      window.location.replace(login + "?next=" + encodeURIComponent(next));
    },
    // True when a failed request means "log in (again)".
    // A refused step-up (the reader declined to give a code) is not one.
    needsLogin(result) {
      const code = result.error ? result.error.code : "";
      return (result.status === 401 && code !== "step_up_required") || (result.status === 403 && code === "second_factor_required");
    },
    // Handles the refusals an admin page answers with instead of its
    // content: "log in (again)" goes to the login page; "forbidden" hides
    // content and shows the page's notice. True when result was one.
    refused(result, content) {
      if (ui.needsLogin(result)) {
        ui.toLogin();
        return true;
      }
      if (result.status === 403 && result.error && result.error.code === "forbidden") {
        content.hidden = true;
        root.querySelector("#app-forbidden").hidden = false;
        return true;
      }
      return false;
    },

    async copy(text) {
      let done = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(text);
          done = true;
        }
      } catch (error) {
        done = false;
      }
      if (!done) {
        const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true", tabindex: "-1", readonly: true });
        area.value = text;
        const focused = document.activeElement;
        document.body.append(area);
        area.select();
        try {
          done = document.execCommand("copy");
        } catch (error) {
          done = false;
        }
        area.remove();
        if (focused && typeof focused.focus === "function") {
          focused.focus();
        }
      }
      ui.status(done ? t("app_copied") : t("app_copy_failed"));
      return done;
    },
    // Copy buttons in the markup: data-copy-from="<input id>".
    bindCopyButtons(scope) {
      for (const button of scope.querySelectorAll("[data-copy-from]")) {
        button.addEventListener("click", () => {
          const source = document.getElementById(button.getAttribute("data-copy-from"));
          if (source) {
            ui.copy(source.value || source.textContent || "");
          }
        });
      }
    },

    download(filename, text) {
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      const link = el("a", { href: url, download: filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    },

    // Fills a recovery-codes block (partial app-codes.html) and wires its
    // copy and download buttons.
    showCodes(block, codes) {
      const list = block.querySelector(".codes");
      const clean = (Array.isArray(codes) ? codes : []).map((c) => String(c));
      list.replaceChildren(...clean.map((code) => el("li", null, [el("code", { text: code })])));
      const text = t("app_recovery_list") + "\n\n" + clean.join("\n") + "\n";
      const copy = block.querySelector("[data-codes-copy]");
      const save = block.querySelector("[data-codes-download]");
      copy.onclick = () => ui.copy(clean.join("\n"));
      save.onclick = () => ui.download("recovery-codes.txt", text);
    },
    clearCodes(block) {
      block.querySelector(".codes").replaceChildren();
    },

    // Asks before a destructive action. Uses the page's <dialog id="app-confirm">
    // (focus stays inside; Escape cancels) and falls back on window.confirm.
    confirm(text, yesLabel) {
      const dialog = document.getElementById("app-confirm");
      if (!dialog || typeof dialog.showModal !== "function") {
        return Promise.resolve(window.confirm(text));
      }
      const message = dialog.querySelector("#app-confirm-text");
      const yes = dialog.querySelector('[data-confirm="yes"]');
      const no = dialog.querySelector('[data-confirm="no"]');
      message.textContent = text;
      yes.textContent = yesLabel;
      return new Promise((resolve) => {
        let answer = false;
        const onYes = () => {
          answer = true;
          dialog.close();
        };
        const onNo = () => dialog.close();
        // Escape closes the dialog; it must not also count towards the
        // quick exit's double Escape.
        const onKey = (event) => {
          if (event.key === "Escape" || event.key === "Esc") {
            event.stopPropagation();
          }
        };
        const onClose = () => {
          yes.removeEventListener("click", onYes);
          no.removeEventListener("click", onNo);
          dialog.removeEventListener("keydown", onKey);
          dialog.removeEventListener("close", onClose);
          resolve(answer);
        };
        yes.addEventListener("click", onYes);
        no.addEventListener("click", onNo);
        dialog.addEventListener("keydown", onKey);
        dialog.addEventListener("close", onClose);
        dialog.showModal();
        no.focus();
      });
    },

    // Moves the focus to an element that is not focusable by itself
    // (a heading, a result box).
    focus(node) {
      if (!node) {
        return;
      }
      if (!node.hasAttribute("tabindex")) {
        node.setAttribute("tabindex", "-1");
      }
      node.focus();
    },
  };
  return ui;
}

// A 6-digit code as typed: spaces and hyphens are forgiven.
export function normalizeCode(value) {
  return String(value || "").replace(/[\s-]/g, "");
}

export const isSixDigits = (code) => /^[0-9]{6}$/.test(code);

// The pages a login may return to: same origin, one of the four languages,
// the account, admin or research area, members-only training, or the
// training statistics. Anything
// else is ignored.
export function safeNext(value) {
  if (!value) {
    return "";
  }
  try {
    const url = new URL(value, window.location.origin);
    // Members-only training is served by the API under /members/, which
    // sends readers who are not logged in to the login page.
    const langs = LANGUAGES.join("|");
    const own = new RegExp(`^/(${langs})/(account|admin|research)/([a-z0-9-]+/)*$`);
    const training = new RegExp(`^/members/(${langs})/training/([a-z0-9-]+/)*$`);
    // The trainers' statistics page of the public training section.
    const stats = new RegExp(`^/(${langs})/training/stats/$`);
    // The complaints review queue, which the portal renders.
    const queue = new RegExp(`^/(${langs})/complaints/queue/$`);
    if (url.origin !== window.location.origin || !(own.test(url.pathname) || training.test(url.pathname) || stats.test(url.pathname) || queue.test(url.pathname))) {
      return "";
    }
    return url.pathname + url.search;
  } catch (error) {
    return "";
  }
}

// Checks an e-mail address roughly; the server has the last word.
export function looksLikeEmail(input) {
  const value = input.value.trim();
  return value.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) && !(input.validity && input.validity.typeMismatch);
}

// Password rules the page can check before sending: length in characters
// (code points, as the server counts them).
export const MIN_PASSWORD = 12;
export const passwordLength = (value) => Array.from(String(value || "")).length;

// ---------------------------------------------------------------------------
// QR code
// ---------------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;
const SVG_ALLOWED = {
  svg: { viewBox: /^[0-9 .]+$/, width: NUMBER, height: NUMBER, "shape-rendering": /^[a-zA-Z-]+$/ },
  g: { fill: /^(#[0-9a-fA-F]{3,8}|black|white|none)$/ },
  rect: { x: NUMBER, y: NUMBER, width: NUMBER, height: NUMBER, fill: /^(#[0-9a-fA-F]{3,8}|black|white|none)$/ },
  path: { d: /^[MmHhVvLlZz0-9 .,-]*$/, fill: /^(#[0-9a-fA-F]{3,8}|black|white|none)$/ },
};
// Attributes that may be present and are dropped (the page sets its own).
const SVG_IGNORED = new Set(["xmlns", "role", "aria-label", "version"]);

// The API's QR code is an SVG document string. CSP (img-src 'self') rules
// out blob: and data: images, so the SVG is parsed in an inert XML document
// and rebuilt element by element from a short allow-list: no scripts, no
// foreignObject, no event handlers, no links, no styles. Anything unexpected
// and the code is refused (null); the setup key is shown in any case.
export function safeSVG(source, label) {
  let doc;
  try {
    doc = new DOMParser().parseFromString(String(source || ""), "image/svg+xml");
  } catch (error) {
    return null;
  }
  const top = doc.documentElement;
  if (!top || top.namespaceURI !== SVG_NS || top.localName !== "svg" || doc.getElementsByTagName("parsererror").length > 0) {
    return null;
  }
  const rebuild = (node) => {
    const rules = SVG_ALLOWED[node.localName];
    if (node.namespaceURI !== SVG_NS || !rules) {
      return null;
    }
    const copy = document.createElementNS(SVG_NS, node.localName);
    for (const attr of Array.from(node.attributes)) {
      if (SVG_IGNORED.has(attr.name)) {
        continue;
      }
      const rule = rules[attr.name];
      if (!rule || attr.namespaceURI || !rule.test(attr.value)) {
        return null;
      }
      copy.setAttribute(attr.name, attr.value);
    }
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE && child.textContent.trim() === "") {
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) {
        return null;
      }
      const inner = rebuild(child);
      if (!inner) {
        return null;
      }
      copy.append(inner);
    }
    return copy;
  };
  const svg = rebuild(top);
  if (!svg) {
    return null;
  }
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("focusable", "false");
  return svg;
}
