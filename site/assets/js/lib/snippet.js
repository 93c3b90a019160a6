// Search results from the API: snippets and result links. Shared by the
// public search page (main.js) and the research library (research/search.js).

import { el } from "./dom.js";

// The API returns snippets as HTML-escaped text whose only markup is
// <mark>...</mark>. Parse it in an inert document and copy over only text
// nodes and <mark> elements (recreated with textContent).
export function appendSnippet(target, snippet) {
  const doc = new DOMParser().parseFromString(String(snippet || ""), "text/html");
  const walk = (parent) => {
    for (const node of parent.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        target.append(document.createTextNode(node.textContent));
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (node.nodeName === "MARK") {
          target.append(el("mark", { text: node.textContent }));
        } else {
          walk(node);
        }
      }
    }
  };
  walk(doc.body);
}

// Only same-origin, root-relative result URLs are turned into links.
export function safeURL(url) {
  try {
    const parsed = new URL(String(url || ""), window.location.origin);
    if (parsed.origin !== window.location.origin) {
      return null;
    }
    return parsed.pathname + parsed.search + parsed.hash;
  } catch (error) {
    return null;
  }
}
