// Typeahead for the search boxes: the WAI-ARIA combobox pattern (an input
// with a listbox popup; https://www.w3.org/WAI/ARIA/apg/patterns/combobox/)
// over GET /api/suggest. Without JavaScript, or before this runs, the box
// is the plain search form it was: nothing here changes what submitting
// does; choosing a suggestion goes to its title's page.
//
// Requests wait until typing pauses (debounced) and a newer one cancels
// the one in flight (AbortController), so that a slow answer never
// replaces a newer one. Titles are text; each sets its own direction.

import { el, format } from "./dom.js";
import { safeURL } from "./snippet.js";

const DEBOUNCE_MS = 200;
const MIN_CHARS = 2;
let counter = 0;

export function initTypeahead(input) {
  if (!window.fetch || !window.AbortController || input.hasAttribute("role")) {
    return;
  }
  const t = (name) => input.getAttribute("data-i18n-suggest-" + name) || "";
  // The page's language (a locale such as "fr-FR" at most) is the API's.
  const lang = (document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  const id = "suggest-" + ++counter;
  const list = el("ul", { id: id + "-list", role: "listbox", class: "suggest-list", "aria-label": t("list"), hidden: true });
  const status = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const row = input.parentElement;
  row.classList.add("suggest-row");
  row.append(list, status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  let items = [];
  let active = -1;
  let timer = 0;
  let controller = null;
  let lastQuery = "";
  // Set once a suggestion is chosen, so that the Enter that chose it does
  // not also submit the form.
  let leaving = false;

  const setActive = (index) => {
    active = index;
    list.querySelectorAll('[role="option"]').forEach((option, i) => {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) {
      const option = list.children[index];
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  };

  const open = () => {
    if (items.length === 0) {
      return;
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  };

  const go = (item) => {
    leaving = true;
    close();
    window.location.assign(item.url);
  };

  const render = (suggestions) => {
    // Only this site's own pages: a URL that would leave it is dropped.
    items = suggestions
      .map((s) => (s && safeURL(s.url) ? { ...s, url: safeURL(s.url) } : null))
      .filter((s) => s !== null);
    list.replaceChildren(
      ...items.map((item, i) => {
        const option = el("li", { id: id + "-" + i, role: "option", "aria-selected": "false", class: "suggest-option" }, [
          el("span", { class: "suggest-title", dir: "auto", text: String(item.title || "") }),
          el("span", { class: "suggest-kind", text: t(item.kind) }),
        ]);
        // Keep the focus in the box while the pointer chooses.
        option.addEventListener("mousedown", (event) => event.preventDefault());
        option.addEventListener("click", () => go(item));
        return option;
      }),
    );
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (items.length === 0) {
      close();
      status.textContent = "";
      return;
    }
    open();
    status.textContent = items.length === 1 ? t("one") : format(t("count"), { count: items.length });
  };

  const fetchSuggestions = async (q) => {
    if (controller) {
      controller.abort();
    }
    controller = new AbortController();
    const mine = controller;
    try {
      const response = await fetch("/api/suggest?" + new URLSearchParams({ q, lang }).toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: mine.signal,
      });
      if (!response.ok) {
        render([]);
        return;
      }
      const data = await response.json();
      if (mine === controller && input.value.trim() === q) {
        render(Array.isArray(data.suggestions) ? data.suggestions : []);
      }
    } catch (error) {
      // Aborted by a newer request, or the network failed: the form
      // still works without suggestions.
    }
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < MIN_CHARS) {
      if (controller) {
        controller.abort();
      }
      lastQuery = "";
      render([]);
      return;
    }
    timer = setTimeout(() => {
      if (q !== lastQuery) {
        lastQuery = q;
        fetchSuggestions(q);
      }
    }, DEBOUNCE_MS);
  });

  input.addEventListener("keydown", (event) => {
    if (event.isComposing) {
      return;
    }
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (list.hidden) {
          open();
          if (event.altKey) {
            return;
          }
        }
        if (items.length > 0) {
          setActive((active + 1) % items.length);
        }
        break;
      case "ArrowUp":
        event.preventDefault();
        if (list.hidden) {
          open();
        }
        if (items.length > 0) {
          setActive(active <= 0 ? items.length - 1 : active - 1);
        }
        break;
      case "Enter":
        // With a suggestion chosen, go to it; otherwise the form submits.
        if (!list.hidden && active >= 0) {
          event.preventDefault();
          go(items[active]);
        }
        break;
      case "Escape":
      case "Esc":
        // Closes the list, keeping what was typed (a search box would
        // clear itself); with the list closed, Escape clears the box as
        // usual. The quick exit's double Escape still counts it.
        if (!list.hidden) {
          event.preventDefault();
          close();
        }
        break;
      default:
    }
  });
  input.addEventListener("blur", close);
  if (input.form) {
    input.form.addEventListener("submit", (event) => {
      if (leaving) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      close();
    });
  }
}

// initTypeaheads enhances every search box that asks for suggestions.
export function initTypeaheads() {
  document.querySelectorAll("input[data-suggest]").forEach(initTypeahead);
}
