// Research library, one document: /<lang>/research/document/?id=…[&page=N].
// GET /api/research/{id}: the TLP label first (with its meaning), the
// reader (reader.js) at the page of the search's best match, then the
// details, abstract and versions (each downloadable). The uploader and
// administrators may edit the details (PATCH), add a version (multipart
// POST …/versions, with a progress bar), withdraw or restore the document.

import { get, patch, post, seg } from "../members/api.js";
import { bdi } from "../members/ui.js";
import { el } from "../lib/dom.js";
import {
  currentUser,
  loadVocabulary,
  handledFailure,
  labels,
  tlpClass,
  tlpMeaning,
  formatBytes,
  downloadURL,
  validID,
  toInt,
} from "./common.js";
import { TLP_LABELS } from "../lib/vocabulary.js";
import { metadataFields, showErrors, clearErrors, fileErrors, fileServerError } from "./fields.js";
import { uploadForm, progressBar } from "./upload-request.js";
import { initReader } from "./reader.js";
import { initFollow } from "../alerts/follow.js";

export async function initResearchDocument(root, ui) {
  const t = ui.t;
  const params = new URLSearchParams(window.location.search);
  const id = params.get("id") || "";
  const matchPage = toInt(params.get("page"));
  const missing = root.querySelector("#document-missing");
  const content = root.querySelector("#document-content");
  const heading = document.querySelector("main h1");
  const pageTitle = document.title;
  const details = root.querySelector("#document-details");
  const detailsHeading = root.querySelector("#document-details-heading");
  const tlpLabel = root.querySelector("#document-tlp-label");
  const tlpText = root.querySelector("#document-tlp-meaning");
  const withdrawnNotice = root.querySelector("#document-withdrawn");
  const pendingNotice = root.querySelector("#document-pending");
  const matchNotice = root.querySelector("#document-match");
  const recognisingNotice = root.querySelector("#document-recognising");
  const abstract = root.querySelector("#document-abstract-text");
  const versionsBody = root.querySelector("#document-versions-body");
  const versionsHeading = root.querySelector("#document-versions-heading");
  const manageHeading = root.querySelector("#document-manage-heading");
  const editToggle = root.querySelector("#document-edit-toggle");
  const versionToggle = root.querySelector("#document-version-toggle");
  const withdrawButton = root.querySelector("#document-withdraw");
  const restoreButton = root.querySelector("#document-restore");
  const editForm = root.querySelector("#document-edit");
  const versionForm = root.querySelector("#document-version");
  const versionFile = root.querySelector("#version-file");
  const versionLimit = root.querySelector("#version-file-limit");
  const size = (n) => formatBytes(ui, n);

  if (!validID(id)) {
    missing.textContent = t("research_document_missing");
    missing.hidden = false;
    return;
  }

  ui.status(t("app_loading"));
  const user = await currentUser(root, ui);
  if (!user) {
    return;
  }
  const vocab = await loadVocabulary(root, ui);
  if (!vocab) {
    return;
  }
  const name = labels(ui, vocab);
  const fields = metadataFields(editForm, "edit", ui, vocab, user);
  const progress = progressBar(versionFile);
  if (vocab.maxUploadBytes > 0) {
    versionLimit.textContent = t("research_file_limit", { size: size(vocab.maxUploadBytes) });
  }
  let doc = null;
  let readerShown = false;

  const failed = (result) => {
    if (handledFailure(root, ui, result)) {
      return true;
    }
    if (result.status === 404) {
      content.hidden = true;
      missing.textContent = t("research_error_not_found");
      missing.hidden = false;
      ui.clear();
      return true;
    }
    return false;
  };

  const none = () => el("span", { class: "muted", text: t("research_none") });
  const tags = (values, label, ltr) => {
    const list = (Array.isArray(values) ? values : []).filter((v) => typeof v === "string" && v);
    if (list.length === 0) {
      return none();
    }
    return el(
      "ul",
      { class: "tags" },
      list.map((v) => el("li", null, [el("span", { class: "tag tag-current", dir: ltr ? "ltr" : null, text: label(v) })])),
    );
  };

  const formatLabel = (kind) => t("research_format_" + kind) || String(kind || "");

  const versionRow = (version, current) => {
    const number = Number(version.number) || 0;
    const filename = String(version.filename || "");
    const first = el("th", { scope: "row" }, [String(number)]);
    if (current) {
      first.append(" ", el("span", { class: "muted", text: t("research_current") }));
    }
    const link = el("a", {
      href: downloadURL(doc.id, number),
      "aria-label": t("research_download_label", { n: number, file: filename }),
      text: t("research_download"),
    });
    return el("tr", null, [
      first,
      el("td", { class: "research-filename" }, [bdi(filename)]),
      el("td", null, [formatLabel(version.kind)]),
      el("td", null, [size(version.size)]),
      el("td", null, [version.kind === "pdf" && version.pages > 0 ? String(version.pages) : "–"]),
      el("td", null, [ui.time(version.uploadedAt)]),
      el("td", null, [link]),
    ]);
  };

  const render = () => {
    const title = String(doc.title || "");
    heading.replaceChildren(el("bdi", { text: title }));
    const cut = pageTitle.indexOf(" | ");
    document.title = title + (cut >= 0 ? pageTitle.slice(cut) : "");

    const tlp = TLP_LABELS.includes(doc.tlp) ? doc.tlp : String(doc.tlp || "");
    tlpLabel.className = "tlp " + tlpClass(tlp);
    tlpLabel.textContent = tlp;
    tlpText.textContent = tlpMeaning(t, tlp);
    withdrawnNotice.hidden = !doc.withdrawn;
    pendingNotice.hidden = doc.withdrawn || doc.indexState !== "pending";

    const set = (key, node) => details.querySelector('[data-value="' + key + '"]').replaceChildren(node);
    const authors = Array.isArray(doc.authors) ? doc.authors.filter((a) => typeof a === "string" && a) : [];
    set(
      "authors",
      authors.length > 0 ? el("ul", { class: "research-authors" }, authors.map((a) => el("li", null, [bdi(a)]))) : none(),
    );
    set("organisation", doc.organisation ? bdi(doc.organisation) : none());
    set("year", document.createTextNode(doc.year ? String(doc.year) : ""));
    set("type", document.createTextNode(name.type(doc.type)));
    set("language", document.createTextNode(name.language(doc.language)));
    set("topics", tags(doc.topics, name.topic));
    set("countries", tags(doc.countries, name.country));
    set("regions", tags(doc.regions, name.region));
    set("access", tags(doc.access, name.group));
    set("createdAt", ui.time(doc.createdAt, { dateStyle: "long" }));
    set("updatedAt", ui.time(doc.updatedAt, { dateStyle: "long", timeStyle: "short" }));

    if (doc.abstract) {
      abstract.classList.remove("muted");
      abstract.setAttribute("dir", "auto");
      abstract.textContent = String(doc.abstract);
    } else {
      abstract.classList.add("muted");
      abstract.removeAttribute("dir");
      abstract.textContent = t("research_abstract_none");
    }

    const versions = Array.isArray(doc.versions) ? doc.versions.slice() : [];
    versions.sort((a, b) => (Number(b.number) || 0) - (Number(a.number) || 0));
    versionsBody.replaceChildren(...versions.map((v) => versionRow(v, v.number === doc.currentVersion)));

    // From a search hit, the page (PDF) or passage of the best match; the
    // reader opens there, or at the start.
    matchNotice.hidden = true;
    recognisingNotice.hidden = doc.withdrawn || doc.recognition !== "pending";
    if (!readerShown) {
      readerShown = true;
      initReader(root, ui, doc, matchPage, params.get("q") || "", failed);
    }

    // The portal says who may change a document only by refusing (403);
    // when the API tells (canEdit), the tools are offered only to those.
    const manage = root.querySelector("#document-manage");
    manage.hidden = doc.canEdit === false;
    // Who can read the record: its uploader, its groups' leads and admins
    // (GET /api/reports/records/{id}).
    root.querySelector("#document-readers").href =
      "/api/reports/records/" + encodeURIComponent(String(doc.id || "")) + "?format=csv&lang=" + encodeURIComponent(ui.lang);
    withdrawButton.hidden = Boolean(doc.withdrawn);
    restoreButton.hidden = !doc.withdrawn;
  };

  const load = async () => {
    const result = await get("/research/" + seg(id));
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return false;
    }
    doc = result.data || {};
    render();
    content.hidden = false;
    return true;
  };

  // Refusals of a change that every action may meet.
  const changeFailed = (result) => {
    if (failed(result)) {
      return;
    }
    if (result.status === 403 && result.error.code === "forbidden") {
      ui.alert(t("research_error_not_yours"));
      return;
    }
    ui.alert(ui.message(result));
  };

  // Panels: one open at a time; the toggle says whether it is open.
  const panels = [
    [editToggle, editForm],
    [versionToggle, versionForm],
  ];
  const open = (form, show) => {
    for (const [button, panel] of panels) {
      const on = show && panel === form;
      panel.hidden = !on;
      button.setAttribute("aria-expanded", on ? "true" : "false");
    }
  };
  editToggle.addEventListener("click", () => {
    const show = editForm.hidden;
    if (show) {
      clearErrors(ui, editForm);
      fields.fill(doc);
    }
    open(editForm, show);
    if (show) {
      ui.focus(root.querySelector("#document-edit-heading"));
    }
  });
  versionToggle.addEventListener("click", () => {
    const show = versionForm.hidden;
    if (show) {
      versionForm.reset();
      clearErrors(ui, versionForm);
    }
    open(versionForm, show);
    if (show) {
      ui.focus(root.querySelector("#document-version-heading"));
    }
  });
  for (const button of root.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => {
      const target = root.querySelector("#" + button.getAttribute("data-close"));
      open(target, false);
      const toggle = panels.find(([, panel]) => panel === target);
      if (toggle) {
        toggle[0].focus();
      }
    });
  }

  ui.onSubmit(editForm, async () => {
    ui.clear();
    clearErrors(ui, editForm);
    const { meta, errors } = fields.read();
    if (showErrors(ui, errors)) {
      return;
    }
    const result = await patch("/research/" + seg(id), meta);
    if (!result.ok) {
      if (!fields.serverError(result)) {
        changeFailed(result);
      }
      return;
    }
    open(editForm, false);
    if (await load()) {
      ui.status(t("research_saved"));
      ui.focus(detailsHeading);
    }
  });

  versionFile.addEventListener("change", () => ui.fieldError(versionFile, null));

  ui.onSubmit(versionForm, async () => {
    ui.clear();
    clearErrors(ui, versionForm);
    if (showErrors(ui, fileErrors(ui, versionFile, vocab.maxUploadBytes, size))) {
      return;
    }
    const chosen = versionFile.files[0];
    progress.start();
    ui.status(t("research_uploading"));
    const result = await uploadForm(
      "/research/" + seg(id) + "/versions",
      () => {
        const data = new FormData();
        data.append("file", chosen, chosen.name);
        return data;
      },
      progress.report(() => ui.status(t("research_processing"))),
    );
    progress.hide();
    if (!result.ok) {
      if (fileServerError(ui, versionFile, result, vocab.maxUploadBytes, size)) {
        ui.clear();
      } else if (result.error.code === "network") {
        ui.alert(t("research_error_upload"));
      } else if (result.status === 503 && result.error.code === "busy") {
        ui.alert(t("research_error_busy"));
      } else {
        changeFailed(result);
      }
      return;
    }
    const number = result.data && result.data.currentVersion;
    open(versionForm, false);
    if (await load()) {
      ui.status(t("research_version_done", { n: number || "" }));
      ui.focus(versionsHeading);
    }
  });

  const change = (action, confirmKey, yesKey, doneKey) => async () => {
    ui.clear();
    const yes = await ui.confirm(t(confirmKey, { title: String(doc.title || "") }), t(yesKey));
    if (!yes) {
      return;
    }
    const result = await post("/research/" + seg(id) + "/" + action);
    if (!result.ok) {
      changeFailed(result);
      return;
    }
    if (await load()) {
      ui.status(t(doneKey));
      ui.focus(manageHeading);
    }
  };
  ui.onClick(withdrawButton, change("withdraw", "research_confirm_withdraw", "research_withdraw", "research_withdrawn_done"));
  ui.onClick(restoreButton, change("restore", "research_confirm_restore", "research_restore", "research_restored_done"));

  if (await load()) {
    ui.clear();
    initFollow(root, ui, id);
  }
}
