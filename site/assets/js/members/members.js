// Administration, members: the list (GET /api/admin/users), invitations
// (POST /api/invitations; pending ones listed and revoked with GET and
// DELETE), the resets of admins that wait for a second admin (GET
// /api/admin/reset-requests, approve) and, per member, role and groups
// (PATCH), disable/enable, unlock, reset of the second factor and ending all
// sessions. Destructive actions are confirmed first; acts that need a fresh
// second factor ask for one (stepup.js) and are then repeated.

import { get, post, patch, del, seg, groupNames } from "./api.js";
import { bdi, looksLikeEmail, nodesFrom } from "./ui.js";
import { installStepUp } from "./stepup.js";
import { el } from "../lib/dom.js";

const ROLES = ["member", "trainer", "admin"];

const parseGroups = (value) =>
  String(value || "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);

// The input a 400 is about: the API's field when it names one, otherwise a
// guess from its (English) message.
function fieldOf(error, names) {
  const hint = (error.field || "") + " " + (error.message || "");
  for (const name of names) {
    if (new RegExp(name, "i").test(hint)) {
      return name;
    }
  }
  return "";
}

export async function initMembers(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#members-content");
  const forbidden = root.querySelector("#app-forbidden");
  const body = root.querySelector("#members-body");
  const total = root.querySelector("#members-total");
  const inviteForm = root.querySelector("#members-invite-form");
  const inviteEmail = root.querySelector("#invite-email");
  const inviteRole = root.querySelector("#invite-role");
  const inviteGroups = root.querySelector("#invite-groups");
  const inviteResult = root.querySelector("#invite-result");
  const inviteMessage = root.querySelector("#invite-message");
  const inviteLinkRow = root.querySelector("#invite-link-row");
  const inviteLink = root.querySelector("#invite-link");
  const invitationsBody = root.querySelector("#invitations-body");
  const invitationsNone = root.querySelector("#invitations-none");
  const requestsSection = root.querySelector("#members-requests");
  const requestsList = root.querySelector("#requests-list");
  installStepUp(ui);

  let me = null;
  let users = [];
  const open = new Set(); // ids of members whose panel is open
  // id → the outcome of the last action on that member, shown in its panel
  // (the live regions at the top of the page may be out of sight).
  const notes = new Map();

  const nameOf = (user) => String(user.displayName || user.email || "");

  const statusList = (user) => {
    const items = [];
    if (user.disabled) {
      items.push(["bad", t("members_status_disabled")]);
    }
    if (user.locked) {
      items.push(["bad", t("members_status_locked")]);
    }
    if (!user.mfaEnrolled) {
      items.push(["warn", t("members_status_no_mfa")]);
    }
    if (items.length === 0) {
      items.push(["ok", t("members_status_active")]);
    }
    return el(
      "ul",
      { class: "tags" },
      items.map(([kind, text]) => el("li", { class: "tag tag-" + kind, text })),
    );
  };

  // One member: the row and, below it, the management panel.
  const render = (user, index) => {
    const panelId = "member-panel-" + index;
    const isOpen = open.has(user.id);
    const isMe = me && user.id === me.id;
    const name = el("th", { scope: "row" }, [bdi(nameOf(user))]);
    if (isMe) {
      name.append(" ", el("span", { class: "muted", text: t("members_you") }));
    }
    const manage = el("button", {
      type: "button",
      class: "button button-secondary button-small",
      "aria-expanded": isOpen ? "true" : "false",
      "aria-controls": panelId,
      "aria-label": t("members_manage_label", { name: nameOf(user) }),
      "data-action": "manage",
      text: t("members_manage"),
    });
    manage.addEventListener("click", () => {
      notes.delete(user.id);
      if (open.has(user.id)) {
        open.delete(user.id);
      } else {
        open.add(user.id);
      }
      refresh(user.id, "manage");
      if (open.has(user.id)) {
        ui.focus(document.getElementById(panelId + "-heading"));
      }
    });
    const row = el("tr", { "data-user": user.id }, [
      name,
      el("td", null, [bdi(user.email)]),
      el("td", { text: ui.roleLabel(user.role) }),
      el("td", null, [ui.groupsNode(user.groups)]),
      el("td", null, [statusList(user)]),
      el("td", null, [manage]),
    ]);

    const panelRow = el("tr", { class: "member-panel-row", id: panelId, hidden: !isOpen });
    if (isOpen) {
      panelRow.append(el("td", { colspan: "6" }, [panel(user, panelId)]));
    }
    return [row, panelRow];
  };

  const panel = (user, panelId) => {
    const name = nameOf(user);
    const roleId = panelId + "-role";
    const groupsId = panelId + "-groups";
    const role = el(
      "select",
      { id: roleId, name: "role" },
      ROLES.map((r) => el("option", { value: r, selected: r === user.role, text: ui.roleLabel(r) })),
    );
    const groups = el("input", {
      type: "text",
      id: groupsId,
      name: "groups",
      dir: "ltr",
      spellcheck: "false",
      autocapitalize: "none",
      maxlength: "2000",
      "aria-describedby": groupsId + "-hint",
    });
    groups.value = (Array.isArray(user.groups) ? user.groups : []).join(", ");
    const form = el("form", { class: "app-form member-form", method: "post", novalidate: true }, [
      el("div", { class: "field" }, [el("label", { for: roleId, text: t("members_role") }), role]),
      el("div", { class: "field" }, [
        el("label", { for: groupsId, text: t("members_groups") }),
        el("p", { class: "field-hint", id: groupsId + "-hint", text: t("members_groups_hint") }),
        el("p", { class: "field-error", id: groupsId + "-error", hidden: true }),
        groups,
      ]),
      el("p", { class: "field-hint", text: t("members_save_note") }),
      el("div", { class: "app-actions" }, [
        el("button", { type: "submit", class: "button", "data-action": "save", text: t("members_save") }),
      ]),
    ]);
    ui.onSubmit(form, async () => {
      ui.clear();
      ui.fieldError(groups, null);
      const result = await patch("/admin/users/" + seg(user.id), { role: role.value, groups: parseGroups(groups.value) });
      if (result.ok) {
        success(result.data, t("members_saved", { name }), "save");
        return;
      }
      if (result.status === 400 && fieldOf(result.error, ["group"])) {
        ui.fieldError(groups, ui.serverText(result.error.message));
        groups.focus();
        return;
      }
      report(result, user, "save");
    });

    const actions = [];
    // Destructive actions (confirmed first) are marked for styling only.
    const action = (key, handler, danger) => {
      const button = el("button", {
        type: "button",
        class: "button button-secondary button-small",
        "data-action": key,
        "data-destructive": danger ? "true" : null,
        text: t("members_" + key.replace(/-/g, "_")),
      });
      ui.onClick(button, handler);
      actions.push(button);
    };
    if (user.disabled) {
      action("enable", async () => {
        ui.clear();
        const result = await post("/admin/users/" + seg(user.id) + "/enable");
        if (result.ok) {
          success(result.data, t("members_enabled", { name }), "disable");
        } else {
          report(result, user, "enable");
        }
      });
    } else {
      action(
        "disable",
        async () => {
          if (!(await ui.confirm(t("members_confirm_disable", { name }), t("members_disable")))) {
            return;
          }
          ui.clear();
          const result = await post("/admin/users/" + seg(user.id) + "/disable");
          if (result.ok) {
            success(result.data, t("members_disabled", { name }), "enable");
          } else {
            report(result, user, "disable");
          }
        },
        true,
      );
    }
    if (user.locked) {
      action("unlock", async () => {
        ui.clear();
        const result = await post("/admin/users/" + seg(user.id) + "/unlock");
        if (result.ok) {
          success(result.data, t("members_unlocked", { name }), "reset-mfa");
        } else {
          report(result, user, "unlock");
        }
      });
    }
    action(
      "reset-mfa",
      async () => {
        if (!(await ui.confirm(t("members_confirm_reset_mfa", { name }), t("members_reset_mfa")))) {
          return;
        }
        ui.clear();
        const result = await post("/admin/users/" + seg(user.id) + "/reset-mfa");
        if (mailFailed(result)) {
          await resetNotMailed(user, name);
          return;
        }
        if (!result.ok) {
          report(result, user, "reset-mfa");
          return;
        }
        // The link went to the member's own address; an admin's reset
        // waits for a second admin.
        if (result.data && result.data.status === "pending") {
          success(user, t("members_reset_pending", { name }), "reset-mfa");
          await loadRequests();
          return;
        }
        const fresh = await get("/admin/users/" + seg(user.id));
        success(fresh.ok ? fresh.data : Object.assign({}, user, { mfaEnrolled: false }), t("members_reset_done", { name }), "reset-mfa");
      },
      true,
    );
    // A reset that waits for the member: its link can be sent again, for
    // when its mail could not be queued or did not arrive.
    if (!user.mfaEnrolled && !user.disabled) {
      action("resend-reset", async () => {
        ui.clear();
        const result = await post("/admin/users/" + seg(user.id) + "/reset-mfa/resend");
        if (result.ok) {
          success(user, t("members_reset_resent", { name }), "resend-reset");
        } else if (mailFailed(result)) {
          await resetNotMailed(user, name);
        } else {
          report(result, user, "resend-reset");
        }
      });
    }
    action(
      "end-sessions",
      async () => {
        if (!(await ui.confirm(t("members_confirm_end_sessions", { name }), t("members_end_sessions")))) {
          return;
        }
        ui.clear();
        const result = await del("/admin/users/" + seg(user.id) + "/sessions");
        if (result.ok) {
          success(user, t("members_sessions_ended", { name }), "end-sessions");
        } else {
          report(result, user, "end-sessions");
        }
      },
      true,
    );

    const parts = [el("h3", { id: panelId + "-heading", tabindex: "-1", text: t("members_manage_label", { name }) })];
    const note = notes.get(user.id);
    if (note) {
      const content = note.content instanceof Node ? note.content.cloneNode(true) : note.content;
      parts.push(el("p", { class: "member-note" + (note.error ? " member-note-error" : "") }, [content]));
    }
    parts.push(
      form,
      el("div", { class: "app-actions member-actions" }, actions),
    );
    return el("div", { class: "member-panel" }, parts);
  };

  // Re-renders one member (or all), keeping the focus on the control the
  // reader used, or the nearest equivalent.
  const refresh = (id, focusAction) => {
    const rows = [];
    users.forEach((user, index) => rows.push(...render(user, index)));
    body.replaceChildren(...rows);
    total.textContent = t("members_total", { count: users.length });
    if (id && focusAction) {
      const index = users.findIndex((u) => u.id === id);
      const panelId = "member-panel-" + index;
      const panelRow = document.getElementById(panelId);
      const row = body.querySelector('tr[data-user="' + CSS.escape(id) + '"]');
      const target =
        (focusAction === "manage" && row && row.querySelector('[data-action="manage"]')) ||
        (panelRow && panelRow.querySelector('[data-action="' + focusAction + '"]')) ||
        document.getElementById(panelId + "-heading") ||
        (row && row.querySelector('[data-action="manage"]'));
      ui.focus(target);
    }
  };

  const update = (user, focusAction) => {
    if (!user || !user.id) {
      return;
    }
    const index = users.findIndex((u) => u.id === user.id);
    if (index >= 0) {
      users[index] = user;
    }
    refresh(user.id, focusAction);
  };

  const success = (user, message, focusAction) => {
    notes.set(user.id, { error: false, content: message });
    update(user, focusAction);
    ui.status(message);
  };

  // A reset is done, but the mail with its link could not be queued
  // (reset_mail_not_queued): the panel shows the member's new state and
  // says to send the link again.
  const mailFailed = (result) => !result.ok && result.error && result.error.code === "reset_mail_not_queued";
  const resetNotMailed = async (user, name) => {
    const fresh = await get("/admin/users/" + seg(user.id));
    const message = t("members_reset_mail_failed", { name });
    notes.set(user.id, { error: true, content: message });
    update(fresh.ok ? fresh.data : Object.assign({}, user, { mfaEnrolled: false }), "resend-reset");
    ui.alert(message);
  };

  // A refused request: announced, and shown in the member's panel when it
  // concerns one.
  const report = (result, user, focusAction) => {
    if (ui.refused(result, content)) {
      return;
    }
    const message = result.status === 409 ? t("members_conflict") : ui.message(result);
    if (user) {
      notes.set(user.id, { error: true, content: message });
      refresh(user.id, focusAction);
    }
    ui.alert(message instanceof Node ? message.cloneNode(true) : message);
  };

  const loadUsers = async () => {
    ui.setGroupNames(await groupNames(ui.lang));
    const result = await get("/admin/users");
    if (!result.ok) {
      report(result);
      return false;
    }
    const list = result.data && Array.isArray(result.data.users) ? result.data.users : [];
    users = list.slice().sort((a, b) => nameOf(a).localeCompare(nameOf(b), ui.locale));
    refresh();
    return true;
  };

  // Pending invitations and re-enrolment links, each with a revoke button.
  const loadInvitations = async () => {
    const result = await get("/invitations");
    if (!result.ok) {
      report(result);
      return;
    }
    const list = result.data && Array.isArray(result.data.invitations) ? result.data.invitations : [];
    invitationsNone.hidden = list.length > 0;
    invitationsBody.replaceChildren(
      ...list.map((inv) => {
        const revoke = el("button", {
          type: "button",
          class: "button button-secondary button-small",
          "data-action": "revoke",
          "data-destructive": "true",
          "aria-label": t("members_revoke_label", { email: String(inv.email || "") }),
          text: t("members_revoke"),
        });
        ui.onClick(revoke, async () => {
          if (!(await ui.confirm(t("members_confirm_revoke", { email: String(inv.email || "") }), t("members_revoke")))) {
            return;
          }
          ui.clear();
          const done = await del("/invitations/" + seg(inv.id));
          if (!done.ok && done.status !== 404) {
            report(done);
            return;
          }
          await loadInvitations();
          ui.status(t("members_revoked", { email: String(inv.email || "") }));
          ui.focus(document.getElementById("members-invitations-heading"));
        });
        const kind = [document.createTextNode(inv.reset ? t("members_invitation_reset") : ui.roleLabel(inv.role))];
        if (!inv.creatorActive) {
          kind.push(el("br"), el("span", { class: "tag tag-bad", text: t("members_invitation_void") }));
        }
        return el("tr", { "data-invitation": String(inv.id || "") }, [
          el("td", null, [bdi(inv.email)]),
          el("td", null, kind),
          el("td", null, [bdi(inv.createdByEmail)]),
          el("td", null, [ui.time(inv.expiresAt)]),
          el("td", null, [revoke]),
        ]);
      }),
    );
  };

  // Resets of admins' second factors that wait for a second admin.
  const loadRequests = async () => {
    const result = await get("/admin/reset-requests");
    if (!result.ok) {
      report(result);
      return;
    }
    const list = result.data && Array.isArray(result.data.requests) ? result.data.requests : [];
    requestsSection.hidden = list.length === 0;
    requestsList.replaceChildren(
      ...list.map((r) => {
        const email = String(r.email || r.userId || "");
        const approve = el("button", {
          type: "button",
          class: "button button-secondary button-small",
          "data-action": "approve",
          "data-destructive": "true",
          text: t("members_approve"),
        });
        ui.onClick(approve, async () => {
          if (!(await ui.confirm(t("members_confirm_approve", { email }), t("members_approve")))) {
            return;
          }
          ui.clear();
          const done = await post("/admin/reset-requests/" + seg(r.id) + "/approve");
          if (!done.ok) {
            report(done);
            return;
          }
          await Promise.all([loadRequests(), loadUsers()]);
          ui.status(t("members_approved", { email }));
        });
        const text = nodesFrom(t("members_request"), {
          email: bdi(email),
          by: bdi(r.requestedByEmail || r.requestedBy),
          time: ui.time(r.expiresAt),
        });
        // The asker and the admin concerned cannot approve (the API refuses
        // them too): no button for them.
        const mine = me && (r.userId === me.id || r.requestedBy === me.id);
        return el("li", { "data-request": String(r.id || "") }, mine ? [el("span", null, text)] : [el("span", null, text), " ", approve]);
      }),
    );
  };

  ui.onSubmit(inviteForm, async () => {
    ui.clear();
    ui.clearFieldErrors(inviteForm);
    inviteResult.hidden = true;
    if (!inviteEmail.value.trim()) {
      ui.showErrors([[inviteEmail, t("app_error_required")]]);
      return;
    }
    if (!looksLikeEmail(inviteEmail)) {
      ui.showErrors([[inviteEmail, t("app_error_email")]]);
      return;
    }
    const result = await post("/invitations", {
      email: inviteEmail.value.trim(),
      role: inviteRole.value,
      groups: parseGroups(inviteGroups.value),
    });
    if (result.ok) {
      const data = result.data || {};
      const values = { email: String(data.email || inviteEmail.value.trim()), time: ui.formatDate(data.expiresAt) };
      const link = typeof data.link === "string" ? data.link : "";
      if (data.emailed || !link) {
        inviteMessage.textContent = t("members_invited_emailed", values);
        inviteLinkRow.hidden = true;
        inviteLink.value = "";
      } else {
        inviteMessage.textContent = t("members_invited_link", values);
        inviteLink.value = link;
        inviteLinkRow.hidden = false;
      }
      inviteForm.reset();
      inviteResult.hidden = false;
      ui.focus(inviteResult);
      await Promise.all([loadUsers(), loadInvitations()]);
      return;
    }
    if (result.status === 409) {
      ui.fieldError(inviteEmail, t("members_invite_conflict"));
      inviteEmail.focus();
      return;
    }
    if (result.status === 400) {
      const field = fieldOf(result.error, ["group", "mail"]);
      const input = field === "group" ? inviteGroups : field === "mail" ? inviteEmail : null;
      if (input) {
        ui.fieldError(input, ui.serverText(result.error.message));
        input.focus();
        return;
      }
    }
    report(result);
  });
  ui.bindCopyButtons(inviteResult);

  // Start: only administrators get further than this.
  ui.status(t("app_loading"));
  const who = await get("/me");
  if (!who.ok) {
    report(who);
    return;
  }
  me = who.data || {};
  if (me.role !== "admin") {
    ui.clear();
    forbidden.hidden = false;
    return;
  }
  if (await loadUsers()) {
    await Promise.all([loadInvitations(), loadRequests()]);
    content.hidden = false;
    ui.clear();
  }
}
