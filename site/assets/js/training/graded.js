// Graded quizzes (site/layouts/_partials/training/quiz-graded.html): the
// portal draws and marks each attempt. Without JavaScript the page's forms
// go to the portal, which renders the attempt and its result into the page.
// With it, the answers go to the API (POST /api/training/attempts/{id}/answers)
// and the result is written into the same page: which answers were wrong,
// and the explanations when the quiz's feedback rule allows; never which
// option is right. Data from the API is inserted as text only.

import { post, seg } from "../members/api.js";
import { el, format } from "../lib/dom.js";

export function initGradedQuiz(page, onProgress) {
  const form = page.querySelector("form[data-quiz-attempt]");
  if (!form) {
    return;
  }
  const t = (name) => page.getAttribute("data-i18n-" + name) || "";
  const attempt = form.getAttribute("data-quiz-attempt");
  const questions = Array.from(form.querySelectorAll("fieldset[data-question]"));
  const result = el("div", { class: "quiz-result", "data-quiz-result": "", role: "status", tabindex: "-1" });
  form.append(result);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = {};
    for (const fieldset of questions) {
      answers[fieldset.getAttribute("data-question")] = Array.from(fieldset.querySelectorAll("input:checked")).map(
        (input) => input.value,
      );
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    const res = await post("/training/attempts/" + seg(attempt) + "/answers", { answers });
    if (!res.ok || !res.data || typeof res.data !== "object") {
      // The answers are still there: the reader may send them again.
      submit.disabled = false;
      result.textContent = res.status === 409 ? t("error-expired") : t("error-unavailable");
      result.focus();
      return;
    }
    const marked = res.data;
    const byID = {};
    for (const q of Array.isArray(marked.questions) ? marked.questions : []) {
      byID[q.id] = q;
    }
    for (const fieldset of questions) {
      const q = byID[fieldset.getAttribute("data-question")] || {};
      const feedback = fieldset.querySelector(".quiz-feedback");
      fieldset.classList.add(q.correct === true ? "is-correct" : "is-incorrect");
      for (const input of fieldset.querySelectorAll("input")) {
        input.disabled = true;
      }
      const parts = [el("p", { class: "quiz-feedback-verdict", text: q.correct === true ? t("correct") : t("incorrect") })];
      if (typeof q.explanation === "string" && q.explanation) {
        parts.push(el("p", { class: "quiz-explanation", text: q.explanation }));
      }
      feedback.replaceChildren(...parts);
      feedback.hidden = false;
      fieldset.setAttribute("aria-describedby", fieldset.id + "-hint " + feedback.id);
    }
    const lines = [
      format(t("score"), { correct: marked.correct, total: marked.total, score: marked.score }),
      marked.passed ? t("passed") : t("not-passed"),
    ];
    if (!marked.showExplanations) {
      lines.push(t("explanations-later"));
    }
    result.replaceChildren(...lines.map((line) => el("p", { text: line })));
    submit.hidden = true;
    const again = page.querySelector("form.quiz-start[data-quiz-again]");
    if (again) {
      again.hidden = false;
    }
    const receipt = page.querySelector("form[data-quiz-receipt]");
    if (receipt && marked.passed && !marked.progress) {
      receipt.hidden = false;
    }
    if (marked.progress && typeof onProgress === "function") {
      onProgress(marked.progress);
    }
    result.focus();
  });
}
