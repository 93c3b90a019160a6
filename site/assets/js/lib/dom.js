// Small DOM helpers shared by the search page and the members' area.
// Everything from the network is inserted as text, never as HTML.

// Builds nodes from a localized template such as "Results for “{query}”: {count}".
// The query is wrapped in <bdi> so that, for example, a Latin query stays
// readable inside an Arabic sentence. Everything is inserted as text.
export function formatNodes(template, values) {
  const nodes = [];
  const pattern = /\{(\w+)\}/g;
  const text = String(template || "");
  let last = 0;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    if (match.index > last) {
      nodes.push(document.createTextNode(text.slice(last, match.index)));
    }
    const key = match[1];
    if (Object.prototype.hasOwnProperty.call(values, key)) {
      if (key === "query") {
        nodes.push(el("bdi", { text: values[key] }));
      } else {
        nodes.push(document.createTextNode(String(values[key])));
      }
    } else {
      nodes.push(document.createTextNode(match[0]));
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) {
    nodes.push(document.createTextNode(text.slice(last)));
  }
  return nodes;
}

export function format(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (match, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match,
  );
}

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) {
        continue;
      }
      if (name === "text") {
        node.textContent = String(value);
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
  }
  if (children) {
    for (const child of children) {
      if (child) {
        node.append(child);
      }
    }
  }
  return node;
}
