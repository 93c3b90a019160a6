// Members' area: the pages whose layout marks an element with data-app
// (layouts account-login, account-accept, account-unlock, account, admin-members,
// admin-audit, account-groups, the research library's research-search,
// research-document and research-upload, whose modules are in ../research/,
// training-verify and training-stats, in ../training/, and
// account-notifications and account-unsubscribe, in ../alerts/).
// Each is a static shell: hidden until its script runs (a <noscript> note
// says JavaScript is needed), then driven by one module talking to the
// same-origin JSON API (api/openapi.json).
//
// Each application is a bundle of its own, ../apps/<data-app>.js, which
// only its pages load (_partials/head.html), so that a page carries the code
// of its own application only (the page weight budget, docs/benchmarks.md).

import { createUI } from "./ui.js";

// startApp runs the application name on its page: each of steps, in order,
// with the application's root element and its UI helpers (ui.js). The
// signed-in applications pass attestationBanner (attestation.js) as a last
// step; the pages before a login ends do not.
export function startApp(name, ...steps) {
  const run = () => {
    const root = document.querySelector("[data-app]");
    if (!root || root.getAttribute("data-app") !== name) {
      return;
    }
    if (!window.fetch || !window.DOMParser || !window.URLSearchParams || !("content" in document.createElement("template"))) {
      return;
    }
    const ui = createUI(root);
    root.hidden = false;
    for (const step of steps) {
      step(root, ui);
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
}
