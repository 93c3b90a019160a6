// Training modules: progress kept in this browser, quizzes graded here, the
// handout's print button. Every training page reads well without it: the
// quiz then shows its answers and explanations after the questions.
//
// The pages carry, on their wrapper element (and on each catalogue card):
//   data-training-page     module | lesson | quiz | handout | card
//   data-training-module   the module id (bundle directory name; the same in
//                          every language)
//   data-training-lessons  the module's lesson ids, in order, space-separated
//   data-training-lesson   the lesson id (file name), on lesson pages
//   data-training-lang     the page's language
//   data-training-access   public | members
//   data-training-pass     the quiz's pass mark in percent (when it has one)
//   data-i18n-*            localized strings with {placeholders}
//
// Anonymous learners: progress stays in localStorage under STORAGE_KEY, as
//   {"v": 1, "modules": {"<module>": {"done": {"<lesson>": true}, "best": 80}}}
// (lesson done flags and the best quiz score per module; no personal data).
//
// Logged-in members (GET /api/training/progress answers 200): the server's
// progress replaces this browser's for the page's module (see server.js):
// lesson marks and quiz answers go to the API, the quiz is graded by the
// server, and the completion code is shown once issued. Anonymous readers
// (204, or no API) keep localStorage as above. Each change is also
// dispatched as a "portal:training-progress" event on document, with detail
// {module, lesson, done, lang} or {module, score, passed, lang}.

import { fetchProgress, sendLesson, sendQuiz, renderServerExtras } from "./server.js";
import { initGradedQuiz } from "./graded.js";

const STORAGE_KEY = "portal-training";
const EVENT_NAME = "portal:training-progress";

function format(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (match, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match,
  );
}

function emptyState() {
  return { v: 1, modules: {} };
}

function load() {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    if (!raw) {
      return emptyState();
    }
    const state = JSON.parse(raw);
    if (!state || typeof state !== "object" || typeof state.modules !== "object" || state.modules === null) {
      return emptyState();
    }
    return state;
  } catch (error) {
    return emptyState();
  }
}

function save(state) {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    return true;
  } catch (error) {
    // Storage full or disabled: progress is simply not kept.
    return false;
  }
}

function moduleState(state, id) {
  const m = state.modules[id];
  if (!m || typeof m !== "object") {
    state.modules[id] = { done: {} };
  } else if (!m.done || typeof m.done !== "object") {
    m.done = {};
  }
  return state.modules[id];
}

function announce(detail) {
  document.dispatchEvent(new CustomEvent(EVENT_NAME, { detail }));
}

function lessonsOf(node) {
  return (node.getAttribute("data-training-lessons") || "").split(/\s+/).filter(Boolean);
}

// Fills the progress line, the "done" markers and the best score inside one
// module's element (a page wrapper or a catalogue card).
function renderProgress(node, state) {
  const id = node.getAttribute("data-training-module");
  const lessons = lessonsOf(node);
  const m = state.modules[id] || { done: {} };
  const done = lessons.filter((lesson) => m.done && m.done[lesson] === true);
  const isCard = node.getAttribute("data-training-page") === "card";

  for (const box of node.querySelectorAll("[data-training-progress]")) {
    const text = format(node.getAttribute("data-i18n-progress"), { done: done.length, total: lessons.length });
    const target = box.querySelector(".training-progress-text") || box;
    target.textContent = text;
    const bar = box.querySelector("progress");
    if (bar) {
      bar.max = Math.max(lessons.length, 1);
      bar.value = done.length;
    }
    // Cards only mention modules already started.
    box.hidden = isCard && done.length === 0;
  }

  for (const item of node.querySelectorAll("li[data-lesson]")) {
    const marker = item.querySelector(".training-done-marker");
    if (!marker) {
      continue;
    }
    const isDone = m.done && m.done[item.getAttribute("data-lesson")] === true;
    marker.textContent = isDone ? node.getAttribute("data-i18n-done") || "" : "";
    marker.hidden = !isDone;
  }

  for (const best of node.querySelectorAll("[data-training-best]")) {
    if (typeof m.best === "number") {
      best.textContent = format(node.getAttribute("data-i18n-best"), { score: m.best });
      best.hidden = false;
    } else {
      best.hidden = true;
    }
  }
}

// The logged-in member's progress in the page's module, from the API
// (the TrainingProgress object), or null for anonymous readers.
let server = null;

function currentState() {
  const state = load();
  if (server) {
    const done = {};
    for (const lesson of server.lessonsDone || []) {
      done[lesson] = true;
    }
    state.modules[server.module] = { done };
    if (typeof server.bestScore === "number") {
      state.modules[server.module].best = server.bestScore;
    }
  }
  return state;
}

function setServer(progress) {
  if (progress && typeof progress === "object" && typeof progress.module === "string") {
    server = progress;
  }
}

function renderAll() {
  const state = currentState();
  for (const node of document.querySelectorAll("[data-training-module]")) {
    renderProgress(node, state);
  }
  if (server) {
    renderServerExtras(server);
  }
}

function initLesson(page) {
  const control = page.querySelector("[data-training-done-control]");
  const box = control ? control.querySelector('input[type="checkbox"]') : null;
  const module = page.getAttribute("data-training-module");
  const lesson = page.getAttribute("data-training-lesson");
  if (!box || !module || !lesson) {
    return;
  }
  box.checked = currentState().modules[module]?.done?.[lesson] === true;
  control.hidden = false;
  box.addEventListener("change", async () => {
    const lang = page.getAttribute("data-training-lang") || "";
    if (server) {
      const wanted = box.checked;
      const progress = await sendLesson(page, { module, lesson, done: wanted, lang });
      if (progress) {
        setServer(progress);
      } else {
        box.checked = !wanted;
      }
      renderAll();
      announce({ module, lesson, done: box.checked, lang });
      return;
    }
    const state = load();
    const m = moduleState(state, module);
    if (box.checked) {
      m.done[lesson] = true;
    } else {
      delete m.done[lesson];
    }
    save(state);
    renderAll();
    announce({ module, lesson, done: box.checked, lang: page.getAttribute("data-training-lang") || "" });
  });
}

// ---------------------------------------------------------------------------
// Quiz
// ---------------------------------------------------------------------------

function sameSet(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

function initQuiz(page) {
  const form = page.querySelector("form[data-quiz]");
  const answers = page.querySelector("[data-quiz-answers]");
  if (!form || !answers) {
    return;
  }
  const t = (name) => page.getAttribute("data-i18n-" + name) || "";
  const module = page.getAttribute("data-training-module");
  const passMark = Number(page.getAttribute("data-training-pass")) || 0;
  const actions = form.querySelector("[data-quiz-actions]");
  const retry = form.querySelector("[data-quiz-retry]");
  const result = form.querySelector("[data-quiz-result]");
  const questions = Array.from(form.querySelectorAll("fieldset[data-question]"));

  // The correct option ids and the explanation of each question come from
  // the answers section that readers without JavaScript see.
  const key = {};
  for (const item of answers.querySelectorAll("[data-answer-for]")) {
    key[item.getAttribute("data-answer-for")] = {
      answers: (item.getAttribute("data-answers") || "").split(/\s+/).filter(Boolean),
      item,
    };
  }

  const clearFeedback = () => {
    for (const fieldset of questions) {
      fieldset.classList.remove("is-correct", "is-incorrect");
      const feedback = fieldset.querySelector(".quiz-feedback");
      if (feedback) {
        feedback.replaceChildren();
        feedback.hidden = true;
      }
      fieldset.setAttribute("aria-describedby", fieldset.id + "-hint");
    }
    result.textContent = "";
  };

  // Logged in: the server grades (QuizResult); the page only shows it.
  const gradeOnServer = async () => {
    const lang = page.getAttribute("data-training-lang") || "";
    const chosen = {};
    for (const fieldset of questions) {
      chosen[fieldset.getAttribute("data-question")] = Array.from(fieldset.querySelectorAll("input:checked")).map(
        (input) => input.value,
      );
    }
    const graded = await sendQuiz(page, { module, answers: chosen, lang });
    if (!graded) {
      result.textContent = t("quiz-failed");
      result.focus();
      return;
    }
    const verdicts = {};
    for (const q of Array.isArray(graded.questions) ? graded.questions : []) {
      verdicts[q.id] = q.correct === true;
    }
    showFeedback((id) => verdicts[id] === true);
    result.textContent =
      format(t("score"), { correct: graded.correct, total: graded.total, score: graded.score }) +
      " " +
      (graded.passed ? t("passed") : t("not-passed"));
    retry.hidden = false;
    setServer(graded.progress);
    renderAll();
    result.focus();
    announce({ module, score: graded.score, passed: graded.passed, lang });
  };

  const grade = () => {
    const correct = showFeedback((id, chosen) => (key[id] ? sameSet(chosen, key[id].answers) : false));
    const total = questions.length;
    const score = total ? Math.round((correct / total) * 100) : 0;
    const passed = score >= passMark;
    result.textContent =
      format(t("score"), { correct, total, score }) + " " + (passed ? t("passed") : t("not-passed"));
    retry.hidden = false;
    result.focus();

    const state = load();
    const m = moduleState(state, module);
    if (typeof m.best !== "number" || score > m.best) {
      m.best = score;
    }
    save(state);
    renderAll();
    announce({ module, score, passed, lang: page.getAttribute("data-training-lang") || "" });
  };

  // Per-question feedback; isRight(id, chosen) says whether an answer is
  // right. Returns the number of right answers.
  const showFeedback = (isRight) => {
    let correct = 0;
    for (const fieldset of questions) {
      const id = fieldset.getAttribute("data-question");
      const entry = key[id];
      const chosen = Array.from(fieldset.querySelectorAll("input:checked")).map((input) => input.value);
      const right = isRight(id, chosen);
      if (right) {
        correct++;
      }
      fieldset.classList.toggle("is-correct", right);
      fieldset.classList.toggle("is-incorrect", !right);
      const feedback = fieldset.querySelector(".quiz-feedback");
      if (!feedback) {
        continue;
      }
      const verdict = document.createElement("p");
      verdict.className = "quiz-feedback-verdict";
      verdict.textContent = right ? t("correct") : chosen.length === 0 ? t("unanswered") : t("incorrect");
      const parts = [verdict];
      if (entry) {
        // Our own page's nodes, copied: nothing from elsewhere is parsed.
        if (!right) {
          const correctLine = entry.item.querySelector(".quiz-answer-correct");
          if (correctLine) {
            parts.push(correctLine.cloneNode(true));
          }
        }
        const explanation = entry.item.querySelector("[data-explanation]");
        if (explanation) {
          const copy = explanation.cloneNode(true);
          copy.removeAttribute("data-explanation");
          parts.push(copy);
        }
      }
      feedback.replaceChildren(...parts);
      feedback.hidden = false;
      fieldset.setAttribute("aria-describedby", fieldset.id + "-hint " + feedback.id);
    }
    return correct;
  };

  answers.hidden = true;
  actions.hidden = false;
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) {
      return;
    }
    clearFeedback();
    if (!server) {
      grade();
      return;
    }
    busy = true;
    form.setAttribute("aria-busy", "true");
    try {
      await gradeOnServer();
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  });
  retry.addEventListener("click", () => {
    form.reset();
    clearFeedback();
    retry.hidden = true;
    const first = form.querySelector("input");
    if (first) {
      first.focus();
    }
  });
}

function initHandout(page) {
  const holder = page.querySelector("[data-handout-print]");
  const button = holder ? holder.querySelector("button") : null;
  if (!button || typeof window.print !== "function") {
    return;
  }
  holder.hidden = false;
  button.addEventListener("click", () => window.print());
}

export async function initTraining() {
  const page = document.querySelector("[data-training-page]:not([data-training-page='card'])");
  if (page && page.getAttribute("data-training-page") !== "handout") {
    // Logged in? Then this module's progress is the server's.
    setServer(await fetchProgress(page.getAttribute("data-training-module")));
  }
  if (page) {
    const kind = page.getAttribute("data-training-page");
    if (kind === "lesson") {
      initLesson(page);
    } else if (kind === "quiz" && page.hasAttribute("data-quiz-graded")) {
      initGradedQuiz(page, (progress) => {
        setServer(progress);
        renderAll();
      });
    } else if (kind === "quiz") {
      initQuiz(page);
    } else if (kind === "handout") {
      initHandout(page);
    }
  }
  if (document.querySelector("[data-training-module]")) {
    renderAll();
    // Another tab marked a lesson or finished a quiz.
    window.addEventListener("storage", (event) => {
      if (event.key === STORAGE_KEY) {
        renderAll();
      }
    });
  }
}
