// Research library, upload form: POST /api/research (multipart: a
// "metadata" JSON part, then the "file" part) with a progress bar; on
// success, a link to the new document. Not logged in: a link to log in.

import { currentUser, loadVocabulary, handledFailure, formatBytes, documentURL } from "./common.js";
import { metadataFields, showErrors, clearErrors, fileErrors, fileServerError } from "./fields.js";
import { uploadForm, progressBar } from "./upload-request.js";
import { nodesFrom } from "../members/ui.js";
import { el } from "../lib/dom.js";

export async function initResearchUpload(root, ui) {
  const t = ui.t;
  const content = root.querySelector("#upload-content");
  const form = root.querySelector("#upload-form");
  const file = root.querySelector("#upload-file");
  const limit = root.querySelector("#upload-file-limit");
  const result = root.querySelector("#upload-result");
  const resultMessage = root.querySelector("#upload-result-message");
  const resultLink = root.querySelector("#upload-result-link");
  const another = root.querySelector("#upload-another");
  const documentBase = root.getAttribute("data-document-url") || "/" + ui.lang + "/research/document/";
  const size = (n) => formatBytes(ui, n);

  ui.status(t("app_loading"));
  const user = await currentUser(root, ui);
  if (!user) {
    return;
  }
  const vocab = await loadVocabulary(root, ui);
  if (!vocab) {
    return;
  }
  const fields = metadataFields(form, "upload", ui, vocab, user);
  const year = form.querySelector("#upload-year");
  year.value = String(new Date().getFullYear());
  if (vocab.maxUploadBytes > 0) {
    limit.textContent = t("research_file_limit", { size: size(vocab.maxUploadBytes) });
  }
  const progress = progressBar(file);
  content.hidden = false;
  ui.clear();

  file.addEventListener("change", () => ui.fieldError(file, null));

  ui.onSubmit(form, async () => {
    ui.clear();
    clearErrors(ui, form);
    const { meta, errors } = fields.read();
    const all = errors.concat(fileErrors(ui, file, vocab.maxUploadBytes, size));
    if (showErrors(ui, all)) {
      return;
    }
    const chosen = file.files[0];
    progress.start();
    ui.status(t("research_uploading"));
    const answer = await uploadForm(
      "/research",
      () => {
        const data = new FormData();
        data.append("metadata", JSON.stringify(meta));
        data.append("file", chosen, chosen.name);
        return data;
      },
      progress.report(() => ui.status(t("research_processing"))),
    );
    progress.hide();
    if (answer.ok) {
      const doc = answer.data || {};
      const href = documentURL(documentBase, doc.id, 0);
      resultMessage.replaceChildren(t("research_uploaded"), doc.indexState === "pending" ? " " + t("research_pending") : "");
      resultLink.setAttribute("href", href);
      resultLink.replaceChildren(...nodesFrom(t("research_uploaded_link"), { title: el("bdi", { text: String(doc.title || meta.title) }) }));
      form.hidden = true;
      result.hidden = false;
      ui.status(t("research_uploaded"));
      ui.focus(result);
      return;
    }
    if (handledFailure(root, ui, answer)) {
      return;
    }
    if (fields.serverError(answer) || fileServerError(ui, file, answer, vocab.maxUploadBytes, size)) {
      ui.clear();
      return;
    }
    if (answer.error.code === "network") {
      ui.alert(t("research_error_upload"));
    } else if (answer.status === 503 && answer.error.code === "busy") {
      ui.alert(t("research_error_busy"));
    } else {
      ui.alert(ui.message(answer));
    }
  });

  another.addEventListener("click", () => {
    ui.clear();
    form.reset();
    fields.reset();
    clearErrors(ui, form);
    year.value = String(new Date().getFullYear());
    result.hidden = true;
    form.hidden = false;
    form.querySelector("#upload-title").focus();
  });
}
