// Groups and attestations (layout account-groups): the access groups by
// name in the page's language (GET /api/groups); for a group's leads, its
// members (GET /api/reports/groups/{id}), added and removed
// (POST/DELETE /api/groups/{id}/members); for admins, creating, archiving
// and restoring groups (POST/PATCH /api/admin/groups); and the attestations
// the reader follows (GET /api/attestations), confirmed or extended. The
// acts that change who someone is ask for a fresh second factor
// (stepup.js).

import { get, post, patch, del, seg } from "./api.js";
import { bdi } from "./ui.js";
import { installStepUp } from "./stepup.js";
import { el } from "../lib/dom.js";

const STATUSES = ["current", "due", "overdue", "suspended"];

export async function initGroups(root, ui) {
  const t = ui.t;
  installStepUp(ui);
  const content = root.querySelector("#groups-content");
  const body = root.querySelector("#groups-body");
  const membersBox = root.querySelector("#group-members");
  const membersName = root.querySelector("#group-members-name");
  const membersList = root.querySelector("#group-members-list");
  const addForm = root.querySelector("#group-add-form");
  const addEmail = root.querySelector("#group-add-email");
  const reportLink = root.querySelector("#group-report-csv");
  const createForm = root.querySelector("#group-create-form");
  const attBody = root.querySelector("#attestations-body");
  const attNone = root.querySelector("#attestations-none");
  const attTable = root.querySelector("#attestations-table");

  let me = null;
  let current = null; // the group whose members are shown

  const failed = (result) => {
    if (ui.needsLogin(result)) {
      ui.toLogin();
      return true;
    }
    return false;
  };
  const report = (result, done) => {
    if (result.ok) {
      ui.status(done);
      return true;
    }
    if (!failed(result)) {
      ui.alert(ui.message(result));
    }
    return false;
  };

  const button = (text, label, handler, secondary) => {
    const b = el("button", { type: "button", class: secondary ? "button button-secondary button-small" : "button button-small", text });
    if (label) {
      b.setAttribute("aria-label", label);
    }
    ui.onClick(b, handler);
    return b;
  };

  const loadGroups = async () => {
    const result = await get("/groups?lang=" + encodeURIComponent(ui.lang));
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const groups = Array.isArray(result.data && result.data.groups) ? result.data.groups : [];
    const isAdmin = me.role === "admin";
    body.replaceChildren(
      ...groups.map((g) => {
        const name = String(g.name || g.id);
        const state = [document.createTextNode(t(g.archived ? "groups_archived" : "groups_active"))];
        if (g.lead) {
          state.push(el("br"), el("span", { class: "tag tag-current", text: t("groups_you_lead") }));
        }
        const actions = [];
        if ((g.lead || isAdmin) && g.id !== "members") {
          actions.push(button(t("groups_manage"), t("groups_manage") + ": " + name, () => showMembers(g)));
        }
        if (isAdmin && g.id !== "members") {
          const archive = !g.archived;
          actions.push(
            button(t(archive ? "groups_archive" : "groups_restore"), t(archive ? "groups_archive" : "groups_restore") + ": " + name, async () => {
              const r = await patch("/admin/groups/" + seg(g.id), { archived: archive });
              if (report(r, t("groups_saved"))) {
                await loadGroups();
              }
            }, true),
          );
        }
        return el("tr", null, [
          el("th", { scope: "row" }, [el("bdi", { dir: "auto", text: name })]),
          el("td", null, [el("bdi", { dir: "auto", text: String(g.description || "") })]),
          el("td", null, state),
          el("td", null, actions),
        ]);
      }),
    );
  };

  const showMembers = async (g) => {
    current = g;
    const result = await get("/reports/groups/" + seg(g.id) + "?lang=" + encodeURIComponent(ui.lang));
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const members = Array.isArray(result.data && result.data.members) ? result.data.members : [];
    membersName.replaceChildren(el("bdi", { dir: "auto", text: String(g.name || g.id) }));
    membersList.replaceChildren(
      ...(members.length === 0
        ? [el("li", { text: t("groups_no_members") })]
        : members.map((m) =>
            el("li", null, [
              bdi(m.displayName),
              document.createTextNode(" "),
              el("a", {
                href: "/api/reports/members/" + seg(m.id) + "?format=csv&lang=" + encodeURIComponent(ui.lang),
                "aria-label": t("groups_member_report") + ": " + String(m.displayName || ""),
                text: t("groups_member_report"),
              }),
              document.createTextNode(" "),
              button(t("groups_remove"), t("groups_remove") + ": " + String(m.displayName || ""), async () => {
                const r = await del("/groups/" + seg(g.id) + "/members/" + seg(m.id));
                if (report(r, t("groups_members_changed"))) {
                  await showMembers(g);
                }
              }, true),
            ]),
          )),
    );
    reportLink.href = "/api/reports/groups/" + seg(g.id) + "?format=csv&lang=" + encodeURIComponent(ui.lang);
    membersBox.hidden = false;
    ui.focus(root.querySelector("#group-members-heading"));
  };

  ui.onSubmit(addForm, async () => {
    ui.clear();
    ui.clearFieldErrors(addForm);
    if (!addEmail.value.trim()) {
      ui.showErrors([[addEmail, t("app_error_required")]]);
      return;
    }
    const r = await post("/groups/" + seg(current.id) + "/members", { member: addEmail.value.trim() });
    if (report(r, t("groups_members_changed"))) {
      addForm.reset();
      await showMembers(current);
    }
  });

  ui.onSubmit(createForm, async () => {
    ui.clear();
    ui.clearFieldErrors(createForm);
    const field = (name) => createForm.querySelector('[name="' + name + '"]');
    const errors = [];
    for (const name of ["id", "en", "fr", "es", "ar"]) {
      if (!field(name).value.trim()) {
        errors.push([field(name), t("app_error_required")]);
      }
    }
    if (ui.showErrors(errors)) {
      return;
    }
    const leads = field("leads")
      .value.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const names = {};
    for (const lang of ["en", "fr", "es", "ar"]) {
      names[lang] = field(lang).value.trim();
    }
    const r = await post("/admin/groups", { id: field("id").value.trim(), names, leads });
    if (report(r, t("groups_created"))) {
      createForm.reset();
      await loadGroups();
    }
  });

  const loadAttestations = async () => {
    const result = await get("/attestations");
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const list = Array.isArray(result.data && result.data.attestations) ? result.data.attestations : [];
    attNone.hidden = list.length > 0;
    attTable.hidden = list.length === 0;
    attBody.replaceChildren(
      ...list.map((a) => {
        const who = String(a.displayName || "");
        const status = STATUSES.includes(a.status) ? a.status : "current";
        let statement = document.createTextNode(t("attests_no_statement"));
        if (a.claim) {
          statement = a.claim.serving
            ? bdi([a.claim.organisation, a.claim.role, a.claim.country].map(String).join(", "))
            : document.createTextNode(t("attests_not_serving"));
        }
        const reason = el("input", { type: "text", maxlength: "200", "aria-label": t("attests_reason") + ": " + who });
        const actions = [
          button(t("attests_confirm"), t("attests_confirm") + ": " + who, async () => {
            const r = await post("/attestations/" + seg(a.userId) + "/confirm");
            if (report(r, t("attests_done"))) {
              await loadAttestations();
            }
          }),
        ];
        if (!a.extended) {
          actions.push(
            reason,
            button(t("attests_extend"), t("attests_extend") + ": " + who, async () => {
              if (!reason.value.trim()) {
                ui.alert(t("app_error_required"));
                reason.focus();
                return;
              }
              const r = await post("/attestations/" + seg(a.userId) + "/extend", { reason: reason.value.trim() });
              if (report(r, t("attests_done"))) {
                await loadAttestations();
              }
            }, true),
          );
        }
        return el("tr", null, [
          el("th", { scope: "row" }, [bdi(who)]),
          el("td", { text: t("attest_status_" + status) }),
          el("td", null, [ui.time(a.dueAt, { dateStyle: "long" })]),
          el("td", null, [a.sponsor ? bdi(a.sponsor) : document.createTextNode(t("attest_sponsor_unknown"))]),
          el("td", null, [statement]),
          el("td", { class: "app-row-actions" }, actions),
        ]);
      }),
    );
  };

  ui.status(t("app_loading"));
  const who = await get("/me");
  if (!who.ok) {
    if (!failed(who)) {
      ui.alert(ui.message(who));
    }
    return;
  }
  me = who.data || {};
  createForm.hidden = me.role !== "admin";
  content.hidden = false;
  ui.clear();
  await loadGroups();
  await loadAttestations();
}
