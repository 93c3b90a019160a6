// Training, statistics for trainers: GET /api/training/stats?module= and the
// CSV export's link. The module is in the page's address (?module=).
// Not logged in (401) or not a trainer (403): a message says so.

import { get } from "../members/api.js";
import { bdi } from "../members/ui.js";
import { el } from "../lib/dom.js";
import { languageName } from "./verify.js";

export function initTrainingStats(root, ui) {
  const t = ui.t;
  const form = root.querySelector("#stats-form");
  const select = root.querySelector("#stats-module");
  const content = root.querySelector("#stats-content");
  const forbidden = root.querySelector("#app-forbidden");
  const login = root.querySelector("#stats-login");
  const loginLink = root.querySelector("#stats-login-link");
  const heading = root.querySelector("#stats-heading");
  const csv = root.querySelector("#stats-csv");
  const number = new Intl.NumberFormat(ui.locale);
  const percent = new Intl.NumberFormat(ui.locale, { style: "percent", maximumFractionDigits: 0 });

  const fill = (body, rows, columns) => {
    if (rows.length === 0) {
      body.replaceChildren(el("tr", null, [el("td", { colspan: String(columns), text: t("trainingapp_stats_none") })]));
    } else {
      body.replaceChildren(...rows);
    }
  };

  const show = (s) => {
    heading.textContent = String(s.title || s.module || "");
    for (const name of ["started", "completed", "attempts"]) {
      content.querySelector('[data-value="' + name + '"]').textContent = number.format(Number(s[name]) || 0);
    }
    content.querySelector('[data-value="passMark"]').textContent = percent.format((Number(s.passMark) || 0) / 100);
    csv.href = "/api/training/stats.csv?module=" + encodeURIComponent(String(s.module || ""));

    const scores = (Array.isArray(s.scores) ? s.scores : []).map((b) =>
      el("tr", null, [
        el("th", { scope: "row", text: t("trainingapp_stats_range", { from: number.format(b.from), to: number.format(b.to) }) }),
        el("td", { text: number.format(Number(b.learners) || 0) }),
      ]),
    );
    fill(root.querySelector("#stats-scores-body"), scores, 2);

    const missed = (Array.isArray(s.mostMissed) ? s.mostMissed : []).map((m) =>
      el("tr", null, [
        el("th", { scope: "row" }, [bdi(m.prompt || m.question)]),
        el("td", { text: number.format(Number(m.missed) || 0) }),
        el("td", { text: number.format(Number(m.answered) || 0) }),
        el("td", { text: percent.format(Number(m.missRate) || 0) }),
      ]),
    );
    fill(root.querySelector("#stats-missed-body"), missed, 4);

    const completions = (Array.isArray(s.completions) ? s.completions : []).map((c) =>
      el("tr", null, [
        el("th", { scope: "row" }, [bdi(c.learnerName)]),
        el("td", null, [ui.time(c.issuedAt, { dateStyle: "long", timeZone: "UTC" })]),
        el("td", { text: percent.format((Number(c.bestScore) || 0) / 100) }),
        el("td", { text: languageName(String(c.lang || ""), ui.locale) }),
      ]),
    );
    fill(root.querySelector("#stats-completions-body"), completions, 4);

    // Validity of completions (modules with one) and graded quizzes.
    const graded = Array.isArray(s.attemptGroups) && s.attemptGroups.length > 0;
    for (const n of content.querySelectorAll("[data-validity]")) {
      n.hidden = !(Number(s.validityMonths) > 0);
    }
    for (const n of content.querySelectorAll("[data-graded]")) {
      n.hidden = !graded;
    }
    for (const name of ["current", "expiring", "expired", "receipts", "receiptsRevoked"]) {
      content.querySelector('[data-value="' + name + '"]').textContent = number.format(Number(s[name]) || 0);
    }
    const groups = (graded ? s.attemptGroups : []).map((g) =>
      el("tr", null, [
        el("th", { scope: "row", text: String(g.moduleVersion || "") }),
        el("td", { text: languageName(String(g.lang || ""), ui.locale) }),
        el("td", { text: number.format(Number(g.attempts) || 0) }),
        el("td", { text: number.format(Number(g.passed) || 0) }),
        el("td", { text: percent.format(Number(g.passRate) || 0) }),
      ]),
    );
    fill(root.querySelector("#stats-groups-body"), groups, 5);
    const rates = (Array.isArray(s.questionRates) ? s.questionRates : []).map((q) =>
      el("tr", null, [
        el("th", { scope: "row" }, [bdi(q.prompt || q.question)]),
        el("td", { text: number.format(Number(q.asked) || 0) }),
        el("td", { text: number.format(Number(q.correct) || 0) }),
        el("td", { text: percent.format(Number(q.passRate) || 0) }),
      ]),
    );
    fill(root.querySelector("#stats-rates-body"), rates, 4);
    content.hidden = false;
  };

  const load = async (module) => {
    ui.clear();
    const result = await get("/training/stats?module=" + encodeURIComponent(module));
    forbidden.hidden = true;
    login.hidden = true;
    if (!result.ok) {
      content.hidden = true;
      if (ui.needsLogin(result)) {
        const next = window.location.pathname + window.location.search;
        loginLink.href = (root.getAttribute("data-login-url") || loginLink.getAttribute("href")) + "?next=" + encodeURIComponent(next);
        login.hidden = false;
        form.hidden = true;
        ui.alert(login.firstChild ? login.firstChild.textContent.trim() : "");
      } else if (result.status === 403) {
        forbidden.hidden = false;
        form.hidden = true;
        ui.alert(forbidden.textContent);
      } else if (result.status === 404) {
        ui.alert(t("trainingapp_stats_not_found"));
      } else {
        ui.alert(ui.message(result));
      }
      return false;
    }
    show(result.data || {});
    ui.status(t("trainingapp_stats_loaded", { module: heading.textContent }));
    return true;
  };

  ui.onSubmit(form, async () => {
    const module = select.value;
    window.history.replaceState(null, "", window.location.pathname + "?module=" + encodeURIComponent(module));
    if (await load(module)) {
      ui.focus(heading);
    }
  });

  const wanted = new URLSearchParams(window.location.search).get("module") || "";
  if (wanted && Array.from(select.options).some((o) => o.value === wanted)) {
    select.value = wanted;
  }
  if (select.value) {
    load(select.value);
  }
}
