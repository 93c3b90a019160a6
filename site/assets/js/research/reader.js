// Research library, one document: the reader. A PDF page's image
// (GET /api/research/{id}/pages/{n}/preview?width=800|1600) beside its text
// (GET /api/research/{id}/pages/{n}) with the search's words marked, so
// that screen-reader users and readers of right-to-left text get what the
// image shows; other kinds show the passage's text. Previous/next buttons
// and a page number form move through the document; the page is kept in
// the address (&page=N) so that a reload or a shared link opens it again.

import { get, seg } from "../members/api.js";
import { el } from "../lib/dom.js";

// The widths the API draws: one for the column, one for zoom.
const WIDTH = 800;
const ZOOM_WIDTH = 1600;

// queryWords returns the words of a search to mark: at least two letters,
// without duplicates, longest first so that a longer word wins.
export function queryWords(q) {
  const words = String(q || "")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2);
  return [...new Set(words.map((w) => w.toLocaleLowerCase()))].sort((a, b) => b.length - a.length);
}

// markWords fills target with text, each occurrence of a word wrapped in
// <mark>; text stays text (no HTML is parsed).
export function markWords(target, text, words) {
  target.replaceChildren();
  if (words.length === 0) {
    target.append(document.createTextNode(text));
    return;
  }
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp("(" + escaped.join("|") + ")", "giu");
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) {
      target.append(document.createTextNode(text.slice(last, m.index)));
    }
    target.append(el("mark", { text: m[0] }));
    last = m.index + m[0].length;
  }
  if (last < text.length) {
    target.append(document.createTextNode(text.slice(last)));
  }
}

// initReader shows the reader for doc's current version (from
// GET /api/research/{id}) at page start, and returns nothing. failed
// handles the API's refusals as the document page does.
export function initReader(root, ui, doc, start, q, failed) {
  const t = ui.t;
  const section = root.querySelector("#document-reader");
  const versions = Array.isArray(doc.versions) ? doc.versions : [];
  const current = versions.find((v) => v.number === doc.currentVersion);
  const pages = current ? Number(current.pages) || 0 : 0;
  if (!current || pages < 1) {
    section.hidden = true;
    return;
  }
  const pdf = current.kind === "pdf";
  const prev = section.querySelector("#document-reader-prev");
  const next = section.querySelector("#document-reader-next");
  const position = section.querySelector("#document-reader-position");
  const jump = section.querySelector("#document-reader-jump");
  const input = section.querySelector("#document-reader-page");
  const match = section.querySelector("#document-reader-match");
  const recognised = section.querySelector("#document-reader-recognised");
  const figure = section.querySelector("#document-reader-figure");
  const image = section.querySelector("#document-reader-image");
  const zoom = section.querySelector("#document-reader-zoom");
  const text = section.querySelector("#document-reader-text");
  const words = queryWords(q);
  // get() adds the /api prefix; the image's URL needs it spelt out.
  const base = "/research/" + seg(doc.id) + "/pages/";
  const matchPage = start;
  let page = Math.min(Math.max(start || 1, 1), pages);
  let zoomed = false;
  let loading = 0; // the latest request, so that a slow answer cannot overwrite a newer page

  prev.textContent = t(pdf ? "research_page_prev" : "research_passage_prev");
  next.textContent = t(pdf ? "research_page_next" : "research_passage_next");
  input.max = String(pages);
  figure.hidden = !pdf;

  const imageURL = () => "/api" + base + page + "/preview?width=" + (zoomed ? ZOOM_WIDTH : WIDTH);

  const show = async (n, focus) => {
    page = n;
    const mine = ++loading;
    position.textContent = t(pdf ? "research_reader_page" : "research_reader_passage", { page: n, pages });
    const had = document.activeElement;
    prev.disabled = n <= 1;
    next.disabled = n >= pages;
    // A button disabled under the focus (the first or last page reached)
    // would drop it to the page's start: keep it in the reader.
    if ((had === prev && prev.disabled) || (had === next && next.disabled)) {
      ui.focus(position);
    }
    input.value = String(n);
    match.hidden = n !== matchPage;
    const params = new URLSearchParams(window.location.search);
    params.set("page", String(n));
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
    if (pdf) {
      image.alt = t("research_page_image_alt", { page: n });
      image.src = imageURL();
    }
    const result = await get(base + n);
    if (mine !== loading) {
      return;
    }
    if (!result.ok) {
      if (!failed(result)) {
        ui.alert(ui.message(result));
      }
      return;
    }
    const data = result.data || {};
    // Documents are in many languages: the text sets its own direction.
    text.setAttribute("dir", "auto");
    markWords(text, String(data.text || ""), words);
    recognised.hidden = !data.recognised;
    if (focus) {
      ui.focus(position);
    }
  };

  image.addEventListener("error", () => {
    if (image.getAttribute("src")) {
      image.alt = t("research_page_image_failed");
    }
  });
  prev.addEventListener("click", () => page > 1 && show(page - 1, false));
  next.addEventListener("click", () => page < pages && show(page + 1, false));
  zoom.addEventListener("click", () => {
    zoomed = !zoomed;
    zoom.setAttribute("aria-pressed", zoomed ? "true" : "false");
    section.classList.toggle("research-reader-zoomed", zoomed);
    image.width = zoomed ? ZOOM_WIDTH : WIDTH;
    image.src = imageURL();
  });
  jump.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 1 || n > pages) {
      ui.fieldError(input, t("research_page_invalid", { pages }));
      input.focus();
      return;
    }
    ui.fieldError(input, null);
    show(n, true);
  });

  section.hidden = false;
  show(page, false);
}
