// Yearly re-attestation (package attest): the section of My account where a
// member sees their due date and attests (GET/POST /api/me/attestation),
// and the banner every members' page shows while an attestation is due
// (GET /api/me: attestation.status "due" or "overdue").

import { get, post } from "./api.js";
import { bdi, nodesFrom } from "./ui.js";
import { el } from "../lib/dom.js";

const STATUSES = ["current", "due", "overdue", "suspended"];

// The banner: a notice at the top of the page with a link to the form.
export async function attestationBanner(root, ui) {
  const result = await get("/me");
  if (!result.ok || !result.data || !result.data.attestation) {
    return;
  }
  const a = result.data.attestation;
  if (a.status !== "due" && a.status !== "overdue") {
    return;
  }
  const account = "/" + ui.lang + "/account/#account-attestation";
  const date = ui.formatDate(a.dueAt, { dateStyle: "long" });
  const banner = el("p", { class: "app-notice attestation-banner", id: "attestation-banner" }, [
    ...nodesFrom(ui.t(a.status === "due" ? "app_attestation_due" : "app_attestation_overdue"), { date: document.createTextNode(date) }),
    document.createTextNode(" "),
    el("a", { href: account, text: ui.t("app_attestation_link") }),
  ]);
  root.prepend(banner);
}

// The section of My account.
export function initAttestationSection(root, ui, failed) {
  const t = ui.t;
  const section = root.querySelector("#account-attestation");
  if (!section) {
    return async () => {};
  }
  const form = section.querySelector("#attest-form");
  const pending = section.querySelector("#attest-pending");
  const serving = section.querySelector("#attest-serving");
  const organisation = section.querySelector("#attest-organisation");
  const role = section.querySelector("#attest-role");
  const country = section.querySelector("#attest-country");
  const set = (name, node) => section.querySelector('[data-value="' + name + '"]').replaceChildren(node);

  const show = (a) => {
    set("attestationDue", document.createTextNode(ui.formatDate(a.dueAt, { dateStyle: "long" })));
    const status = STATUSES.includes(a.status) ? a.status : "current";
    set("attestationStatus", document.createTextNode(t("attest_status_" + status)));
    set("attestationSponsor", a.sponsor ? bdi(a.sponsor) : document.createTextNode(t("attest_sponsor_unknown")));
    pending.hidden = !a.claimedAt;
    if (a.claimedAt) {
      pending.replaceChildren(...nodesFrom(t("attest_pending"), { date: document.createTextNode(ui.formatDate(a.claimedAt, { dateStyle: "long" })) }));
    }
    if (a.claim) {
      serving.checked = a.claim.serving === true;
      organisation.value = String(a.claim.organisation || "");
      role.value = String(a.claim.role || "");
      country.value = String(a.claim.country || "");
    }
  };

  ui.onSubmit(form, async () => {
    ui.clear();
    ui.clearFieldErrors(form);
    country.value = country.value.trim().toUpperCase();
    const errors = [];
    for (const input of [organisation, role]) {
      if (!input.value.trim()) {
        errors.push([input, t("app_error_required")]);
      }
    }
    if (!/^[A-Z]{2}$/.test(country.value)) {
      errors.push([country, t("attest_country_hint")]);
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const result = await post("/me/attestation", {
      serving: serving.checked,
      organisation: organisation.value.trim(),
      role: role.value.trim(),
      country: country.value,
    });
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    show(result.data || {});
    ui.status(t("attest_sent"));
  });

  return async () => {
    const result = await get("/me/attestation");
    if (result.ok && result.data) {
      show(result.data);
    }
  };
}
