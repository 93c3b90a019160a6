// Training progress of a logged-in member, kept by the API
// (api/openapi.json: /api/training/progress, /api/training/quiz). Used by
// index.js: fetchProgress answers null for anonymous readers (204) or when
// the API is not there, and the page then keeps this browser's storage.
// Strings come from the page wrapper's data-i18n-* attributes; data from the
// API is inserted as text only.

import { get, post } from "../members/api.js";
import { el } from "../lib/dom.js";

function pageNode() {
  return document.querySelector("[data-training-page]:not([data-training-page='card'])");
}

const text = (page, name) => (page && page.getAttribute("data-i18n-" + name)) || "";

// Live region of the progress box (training/progress.html), for failures.
function sayError(page, message) {
  const region = page && page.querySelector("[data-training-sync]");
  if (!region) {
    return;
  }
  region.replaceChildren();
  if (message) {
    window.setTimeout(() => {
      region.textContent = message;
    }, 50);
  }
}

export async function fetchProgress(module) {
  if (!module || !window.fetch) {
    return null;
  }
  const result = await get("/training/progress?module=" + encodeURIComponent(module));
  return result.ok && result.data && typeof result.data === "object" ? result.data : null;
}

// Marks a lesson done or not; answers the new progress, or null (the
// failure is said in the progress box's live region).
export async function sendLesson(page, body) {
  const result = await post("/training/progress", body);
  if (result.ok && result.data) {
    sayError(page, "");
    return result.data;
  }
  sayError(page, text(page, "save-failed"));
  return null;
}

// Sends the quiz answers; answers the graded result (QuizResult) or null.
export async function sendQuiz(page, body) {
  const result = await post("/training/quiz", body);
  return result.ok && result.data && typeof result.data === "object" ? result.data : null;
}

// The parts of the page only a logged-in member sees: the note that
// progress is kept with the account, and the completion with its code.
export function renderServerExtras(progress) {
  const page = pageNode();
  if (!page) {
    return;
  }
  for (const note of page.querySelectorAll(".training-progress-note")) {
    note.textContent = text(page, "account-note");
  }
  let box = page.querySelector("[data-training-completion]");
  const completion = progress.completion && typeof progress.completion === "object" ? progress.completion : null;
  if (!completion) {
    if (box) {
      box.hidden = true;
    }
    return;
  }
  if (!box) {
    box = el("div", { class: "training-completion", "data-training-completion": "" });
    const anchor = page.querySelector("[data-training-progress]") || page.querySelector("form[data-quiz]");
    if (!anchor) {
      return;
    }
    anchor.after(box);
  }
  const parts = [el("p", { class: "training-completion-title", text: text(page, "completed") })];
  const code = typeof completion.code === "string" ? completion.code : "";
  if (code) {
    parts.push(
      el("p", { class: "training-completion-code" }, [
        text(page, "code") + " ",
        el("code", { dir: "ltr", "data-completion-code": "", text: code }),
      ]),
    );
    const verify = page.getAttribute("data-training-verify");
    if (verify) {
      parts.push(
        el("p", null, [el("a", { href: verify + "?code=" + encodeURIComponent(code), text: text(page, "verify-link") })]),
      );
    }
    const certificate = page.getAttribute("data-training-certificate");
    if (certificate) {
      parts.push(
        el("p", null, [
          el("a", { href: certificate + "?code=" + encodeURIComponent(code), text: text(page, "certificate-link") }),
        ]),
      );
    }
  }
  // Renewal banner: from 30 days before the completion's validity ends.
  const validity = completion.validity;
  if ((validity === "expiring" || validity === "expired") && typeof completion.expiresAt === "string") {
    parts.unshift(
      el("p", {
        class: "training-renewal app-notice",
        role: "status",
        "data-training-renewal": validity,
        text: text(page, "renew-" + validity).replace("{date}", completion.expiresAt),
      }),
    );
  }
  box.replaceChildren(...parts);
  box.hidden = false;
}
