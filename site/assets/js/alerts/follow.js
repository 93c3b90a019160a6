// "Follow this record" on a research record's page: a toggle button
// (aria-pressed) over POST /api/me/follows and DELETE /api/me/follows/{id}.
// A follower hears of the record's new versions and its withdrawal.

import { get, post, del, seg } from "../members/api.js";

export async function initFollow(root, ui, id) {
  const t = ui.t;
  const box = root.querySelector("#document-follow-actions");
  const button = root.querySelector("#document-follow");
  if (!box || !button) {
    return;
  }
  const result = await get("/me/follows");
  if (!result.ok) {
    return;
  }
  const list = Array.isArray(result.data && result.data.follows) ? result.data.follows : [];
  const set = (on) => button.setAttribute("aria-pressed", on ? "true" : "false");
  set(list.some((f) => f && f.docId === id));
  box.hidden = false;
  ui.onClick(button, async () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    const answer = on ? await post("/me/follows", { docId: id }) : await del("/me/follows/" + seg(id));
    if (!answer.ok && answer.status !== 409 && !(answer.status === 404 && !on)) {
      ui.alert(ui.message(answer));
      return;
    }
    set(on);
    ui.status(t(on ? "alerts_following" : "alerts_unfollowed"));
  });
}
