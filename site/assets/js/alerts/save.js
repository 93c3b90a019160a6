// "Save this search" on the research library's search page: the search
// shown (its words and filters, as the page's address holds them) saved
// under a name with an alert setting, by POST /api/me/saved-searches.

import { post } from "../members/api.js";

const FILTERS = ["topics", "type", "language", "regions", "countries", "tlp"];

// current returns the search page's state: {q, lists, year_from, year_to}.
export function initSaveSearch(root, ui, current) {
  const t = ui.t;
  const form = root.querySelector("#research-save");
  const name = root.querySelector("#research-save-name");
  const alert = root.querySelector("#research-save-alert");
  if (!form || !name || !alert) {
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    ui.clear();
    ui.fieldError(name, null);
    const value = name.value.trim();
    if (!value) {
      ui.showErrors([[name, t("alerts_save_name_required")]]);
      return;
    }
    const state = current();
    const filters = {};
    for (const key of FILTERS) {
      if (state.lists[key] && state.lists[key].length > 0) {
        filters[key] = state.lists[key];
      }
    }
    if (state.year_from) {
      filters.year_from = state.year_from;
    }
    if (state.year_to) {
      filters.year_to = state.year_to;
    }
    const result = await post("/me/saved-searches", { name: value, text: state.q, filters, alert: alert.value });
    if (result.ok) {
      name.value = "";
      ui.status(t("alerts_save_done"));
    } else if (result.status === 409) {
      ui.showErrors([[name, t("alerts_save_conflict")]]);
    } else {
      ui.alert(ui.message(result));
    }
  });
}
