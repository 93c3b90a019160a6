// The metadata fields of a research document (partial
// research/metadata-fields.html), shared by the upload form and the
// document page's edit form: options built from the vocabulary and the
// reader's groups, values read and checked as research/validate.go does,
// and the API's refusals shown on the field they are about.

import { el } from "../lib/dom.js";
import { nodesFrom } from "../members/ui.js";
import { GROUP } from "../lib/vocabulary.js";
import { labels } from "./common.js";

const COUNTRY = /^[A-Z]{2}$/;
const MIN_YEAR = 1900;

// Splits "a, b; c" into ["a", "b", "c"].
const splitList = (value) =>
  String(value || "")
    .split(/[\s,;]+/)
    .map((v) => v.trim())
    .filter(Boolean);

// One checkbox with its label; value and label are text.
export function checkbox(id, name, value, label, checked) {
  const input = el("input", { type: "checkbox", id, name, value, checked: Boolean(checked) });
  const text = el("label", { for: id }, Array.isArray(label) ? label : [label]);
  return el("div", { class: "check" }, [input, text]);
}

// A safe id fragment for a vocabulary value.
export const idPart = (value) => String(value).toLowerCase().replace(/[^a-z0-9]+/g, "-");

// Errors of a checkbox group: #<fieldset id>-error is shown and added to the
// fieldset's description. (aria-invalid is not for groups.)
export function groupError(fieldset, content) {
  const error = document.getElementById(fieldset.id + "-error");
  if (!error) {
    return;
  }
  const ids = (fieldset.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== error.id);
  if (content) {
    error.replaceChildren(...(Array.isArray(content) ? content : [content]));
    error.hidden = false;
    fieldset.classList.add("is-invalid");
    ids.push(error.id);
  } else {
    error.replaceChildren();
    error.hidden = true;
    fieldset.classList.remove("is-invalid");
  }
  if (ids.length > 0) {
    fieldset.setAttribute("aria-describedby", ids.join(" "));
  } else {
    fieldset.removeAttribute("aria-describedby");
  }
}

// Marks [element, message] pairs (inputs, selects, textareas or fieldsets)
// and focuses the first. True when there were errors.
export function showErrors(ui, errors) {
  for (const [target, message] of errors) {
    if (target.tagName === "FIELDSET") {
      groupError(target, message);
    } else {
      ui.fieldError(target, message);
    }
  }
  if (errors.length === 0) {
    return false;
  }
  const first = errors[0][0];
  const focusable = first.tagName === "FIELDSET" ? first.querySelector("input") : first;
  if (focusable) {
    focusable.focus();
  }
  return true;
}

export function clearErrors(ui, form) {
  ui.clearFieldErrors(form);
  for (const area of form.querySelectorAll("textarea")) {
    ui.fieldError(area, null);
  }
  for (const fieldset of form.querySelectorAll("fieldset.check-group")) {
    groupError(fieldset, null);
  }
}

// form: the <form>; p: the id prefix; user: GET /api/me; vocab: the
// vocabulary (common.js loadVocabulary).
export function metadataFields(form, p, ui, vocab, user) {
  const t = ui.t;
  const name = labels(ui, vocab);
  const $ = (suffix) => form.querySelector("#" + p + "-" + suffix);
  const f = {
    title: $("title"),
    authors: $("authors"),
    organisation: $("organisation"),
    year: $("year"),
    language: $("language"),
    type: $("type"),
    topics: $("topics"),
    countries: $("countries"),
    regions: $("regions"),
    access: $("access"),
    accessOther: $("access-other"),
    accessOtherBox: form.querySelector("#" + p + "-access-other-box"),
    tlp: $("tlp"),
    abstract: $("abstract"),
  };
  const isAdmin = user && user.role === "admin";
  const userGroups = Array.isArray(user && user.groups) ? user.groups.filter((g) => typeof g === "string" && GROUP.test(g)) : [];
  const maxYear = new Date().getFullYear() + 1;
  f.year.setAttribute("min", String(MIN_YEAR));
  f.year.setAttribute("max", String(maxYear));

  const option = (value, text, selected) => el("option", { value, text, selected: Boolean(selected) });

  const fillSelect = (select, values, label, placeholder) => {
    const options = [];
    if (placeholder) {
      options.push(option("", t("research_choose"), true));
    }
    for (const value of values) {
      options.push(option(value, label(value)));
    }
    select.replaceChildren(...options);
  };

  fillSelect(f.language, vocab.languages, name.language, false);
  fillSelect(f.type, vocab.types, name.type, true);
  fillSelect(f.tlp, vocab.tlp, (v) => v, true);
  if (vocab.languages.includes(ui.lang)) {
    f.language.value = ui.lang;
  }

  const fillChecks = (fieldset, values, label, prefix) => {
    const list = fieldset.querySelector(".check-list");
    list.replaceChildren(
      ...values.map((value) => checkbox(p + "-" + prefix + "-" + idPart(value), fieldset.getAttribute("data-name"), value, label(value), false)),
    );
  };
  fillChecks(f.topics, vocab.topics.map((x) => x.id), name.topic, "topic");
  fillChecks(f.regions, vocab.regions, name.region, "region");

  // Access: the reader's own groups (and, when editing, the groups the
  // document already has, which may be kept). Administrators may also type
  // other groups.
  // Archived groups are offered only where the document has them already;
  // each is shown by its name in the page's language and sent by its ID.
  const setGroups = (extra) => {
    const groups = Array.from(new Set(userGroups.filter((g) => !name.archivedGroup(g)).concat(extra || []))).sort();
    const list = f.access.querySelector(".check-list");
    list.replaceChildren(...groups.map((g) => checkbox(p + "-group-" + idPart(g), "access", g, el("bdi", { dir: "auto", text: name.group(g) }), false)));
    if (groups.length === 0 && !isAdmin) {
      list.replaceChildren(el("p", { class: "field-hint", text: t("research_access_none") }));
    }
  };
  setGroups([]);
  f.accessOtherBox.hidden = !isAdmin;

  const checked = (fieldset) => Array.from(fieldset.querySelectorAll('input[type="checkbox"]:checked')).map((input) => input.value);
  const check = (fieldset, values) => {
    const wanted = new Set(values || []);
    for (const input of fieldset.querySelectorAll('input[type="checkbox"]')) {
      input.checked = wanted.has(input.value);
    }
  };

  // Field names as the API reports them ("title: is required").
  const byField = {
    title: f.title,
    authors: f.authors,
    organisation: f.organisation,
    abstract: f.abstract,
    year: f.year,
    language: f.language,
    type: f.type,
    topics: f.topics,
    countries: f.countries,
    regions: f.regions,
    access_groups: f.access,
    access: f.access,
    tlp: f.tlp,
  };

  return {
    // Puts a document's values in the fields (the edit form).
    fill(doc) {
      f.title.value = String(doc.title || "");
      f.authors.value = (Array.isArray(doc.authors) ? doc.authors : []).join("\n");
      f.organisation.value = String(doc.organisation || "");
      f.year.value = doc.year ? String(doc.year) : "";
      f.language.value = String(doc.language || "");
      f.type.value = String(doc.type || "");
      check(f.topics, doc.topics);
      f.countries.value = (Array.isArray(doc.countries) ? doc.countries : []).join(", ");
      check(f.regions, doc.regions);
      const groups = Array.isArray(doc.access) ? doc.access.filter((g) => typeof g === "string" && GROUP.test(g)) : [];
      setGroups(groups);
      check(f.access, groups);
      f.accessOther.value = "";
      f.tlp.value = String(doc.tlp || "");
      f.abstract.value = String(doc.abstract || "");
    },

    // Reads and checks the fields: {meta, errors}.
    read() {
      const errors = [];
      const meta = {
        title: f.title.value.trim(),
        authors: f.authors.value
          .split(/\r?\n/)
          .map((a) => a.trim())
          .filter(Boolean),
        organisation: f.organisation.value.trim(),
        abstract: f.abstract.value.trim(),
        year: parseInt(f.year.value, 10),
        language: f.language.value,
        type: f.type.value,
        topics: checked(f.topics),
        countries: splitList(f.countries.value).map((c) => c.toUpperCase()),
        regions: checked(f.regions),
        access: checked(f.access),
        tlp: f.tlp.value,
      };
      if (!meta.title) {
        errors.push([f.title, t("app_error_required")]);
      }
      if (!Number.isInteger(meta.year) || meta.year < MIN_YEAR || meta.year > maxYear) {
        errors.push([f.year, t("research_error_year", { min: MIN_YEAR, max: maxYear })]);
      }
      if (!meta.language) {
        errors.push([f.language, t("app_error_required")]);
      }
      if (!meta.type) {
        errors.push([f.type, t("app_error_required")]);
      }
      if (meta.topics.length === 0) {
        errors.push([f.topics, t("research_error_topics")]);
      }
      const badCountries = meta.countries.filter((c) => !COUNTRY.test(c));
      if (badCountries.length > 0) {
        errors.push([f.countries, nodesFrom(t("research_error_countries"), { codes: el("bdi", { dir: "ltr", text: badCountries.join(", ") }) })]);
      }
      if (isAdmin) {
        const other = splitList(f.accessOther.value).map((g) => g.toLowerCase());
        const bad = other.filter((g) => !GROUP.test(g) || g === "public");
        if (bad.length > 0) {
          errors.push([f.accessOther, nodesFrom(t("research_error_groups"), { groups: el("bdi", { dir: "ltr", text: bad.join(", ") }) })]);
        }
        meta.access = Array.from(new Set(meta.access.concat(other.filter((g) => GROUP.test(g) && g !== "public"))));
      }
      if (meta.access.length === 0) {
        errors.push([f.access, t("research_error_access")]);
      } else if (meta.tlp === "TLP:RED" && !meta.access.some((g) => g !== "members")) {
        errors.push([f.access, t("research_error_red")]);
      }
      if (!meta.tlp) {
        errors.push([f.tlp, t("app_error_required")]);
      }
      return { meta, errors };
    },

    // Shows a refusal of the API on its field; false when it is not about
    // one field.
    serverError(result) {
      if (!result.error) {
        return false;
      }
      const message = String(result.error.message || "");
      if (result.status === 400 && result.error.code === "invalid_metadata") {
        const cut = message.indexOf(":");
        const field = cut > 0 ? message.slice(0, cut).trim() : "";
        const target = byField[field];
        if (target) {
          const reason = ui.serverText(message.slice(cut + 1).trim());
          showErrors(ui, [[target, nodesFrom(t("research_error_refused"), { reason })]]);
          return true;
        }
        return false;
      }
      // Granting a group one is not in.
      if (result.status === 403 && result.error.code === "forbidden" && /group/i.test(message)) {
        showErrors(ui, [[f.access, nodesFrom(t("research_error_group_forbidden"), { reason: ui.serverText(message) })]]);
        return true;
      }
      return false;
    },

    reset() {
      setGroups([]);
      f.accessOther.value = "";
      if (vocab.languages.includes(ui.lang)) {
        f.language.value = ui.lang;
      }
    },
  };
}

// The chosen file, checked before sending: present, not empty, within the
// portal's limit. Returns [[input, message]] or [].
export function fileErrors(ui, input, maxBytes, size) {
  const file = input.files && input.files[0];
  if (!file) {
    return [[input, ui.t("research_error_file")]];
  }
  if (file.size === 0) {
    return [[input, ui.t("research_error_file_empty")]];
  }
  if (maxBytes > 0 && file.size > maxBytes) {
    return [[input, ui.t("research_error_too_large", { size: size(maxBytes) })]];
  }
  return [];
}

// Shows a refusal of an uploaded file on the file input; false when the
// refusal is not about the file.
export function fileServerError(ui, input, result, maxBytes, size) {
  const t = ui.t;
  let message = null;
  switch (result.status) {
    case 413:
      message = maxBytes > 0 ? t("research_error_too_large", { size: size(maxBytes) }) : ui.serverText(result.error.message);
      break;
    case 415:
      message = t("research_error_type");
      break;
    case 422:
      message = t("research_error_unreadable");
      break;
    default:
      return false;
  }
  showErrors(ui, [[input, message]]);
  return true;
}
