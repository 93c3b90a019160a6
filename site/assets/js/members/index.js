// Members' area: the pages whose layout marks an element with data-app
// (layouts account-login, account-accept, account-unlock, account, admin-members,
// admin-audit, and the research library's research-search,
// research-document and research-upload, whose modules are in ../research/,
// and training-verify and training-stats, in ../training/, and
// account-notifications and account-unsubscribe, in ../alerts/).
// Each is a static shell: hidden until this script runs (a <noscript> note
// says JavaScript is needed), then driven by one module talking to the
// same-origin JSON API (api/openapi.json).

import { createUI } from "./ui.js";
import { initLogin } from "./login.js";
import { initAccept } from "./accept.js";
import { initUnlock } from "./unlock.js";
import { initAccount } from "./account.js";
import { initMembers as initMemberAdmin } from "./members.js";
import { initAudit } from "./audit.js";
import { initResearchSearch } from "../research/search.js";
import { initResearchDocument } from "../research/document.js";
import { initResearchUpload } from "../research/upload.js";
import { initTrainingVerify } from "../training/verify.js";
import { initTrainingStats } from "../training/stats.js";
import { initGroups } from "./groups.js";
import { attestationBanner } from "./attestation.js";
import { initNotifications } from "../alerts/notifications.js";
import { initUnsubscribe } from "../alerts/unsubscribe.js";

const APPS = {
  login: initLogin,
  accept: initAccept,
  unlock: initUnlock,
  account: initAccount,
  members: initMemberAdmin,
  audit: initAudit,
  "research-search": initResearchSearch,
  "research-document": initResearchDocument,
  "research-upload": initResearchUpload,
  "training-verify": initTrainingVerify,
  "training-stats": initTrainingStats,
  groups: initGroups,
  notifications: initNotifications,
  unsubscribe: initUnsubscribe,
};

// The pages before a login ends show no attestation banner.
const SIGNED_OUT = ["login", "accept", "unlock", "training-verify"];

export function initMembers() {
  const root = document.querySelector("[data-app]");
  if (!root) {
    return;
  }
  const start = APPS[root.getAttribute("data-app")];
  if (!start || !window.fetch || !window.DOMParser || !window.URLSearchParams || !("content" in document.createElement("template"))) {
    return;
  }
  const ui = createUI(root);
  root.hidden = false;
  start(root, ui);
  if (!SIGNED_OUT.includes(root.getAttribute("data-app"))) {
    attestationBanner(root, ui);
  }
}
