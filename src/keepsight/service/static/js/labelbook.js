// The label book: the house rules and every class (/ui/labelbook), or one class's page
// (/ui/labelbook/{name}): description, allowed tools, orientation, attributes, examples and
// counter-examples, so every annotator follows the same rules. Managers edit them here.
import { api, el, fill, pathParts, startPage, swatch, withColours } from "./api.js";

const TOOL_KEYS = { box: "B", rotated_box: "R", polygon: "P", polyline: "L", points: "K", brush: "M", eraser: "E", tag: "T" };
const TOOL_NAMES = { box: "box", rotated_box: "rotated box", polygon: "polygon", polyline: "polyline", points: "points",
  brush: "brush (mask)", eraser: "eraser (mask)", tag: "image tag" };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

// A small drawing of what the orientation means: a rotated box, and its head for `directed` classes.
function orientationFigure(orientation, colour) {
  const fig = svg("svg", { width: 220, height: 90, viewBox: "0 0 220 90", class: "orientation-figure", role: "img" });
  const box = (cx, angle, head) => {
    const g = svg("g", { transform: `translate(${cx} 45) rotate(${angle})` });
    g.append(svg("rect", { x: -34, y: -13, width: 68, height: 26, fill: colour, "fill-opacity": 0.15, stroke: colour,
      "stroke-width": 2 }));
    if (head) {
      g.append(svg("line", { x1: 0, y1: 0, x2: 40, y2: 0, stroke: colour, "stroke-width": 2 }));
      g.append(svg("path", { d: "M 48 0 L 38 -6 L 38 6 Z", fill: colour }));
    } else if (orientation === "axial") {
      g.append(svg("line", { x1: -34, y1: 0, x2: 34, y2: 0, stroke: colour, "stroke-width": 1, "stroke-dasharray": "4 3" }));
    }
    return g;
  };
  if (orientation === "directed") {
    fig.append(box(55, 20, true), box(165, 200, true));
    fig.append(svg("text", { x: 110, y: 86, "text-anchor": "middle", "font-size": 11, fill: "#5d6776" },
      "two different boxes: the head differs"));
  } else if (orientation === "axial") {
    fig.append(box(55, 20, false), box(165, 200, false));
    fig.append(svg("text", { x: 110, y: 86, "text-anchor": "middle", "font-size": 11, fill: "#5d6776" },
      "the same box: turned by 180°"));
  } else {
    fig.append(box(110, 0, false));
    fig.append(svg("text", { x: 110, y: 86, "text-anchor": "middle", "font-size": 11, fill: "#5d6776" },
      "orientation means nothing"));
  }
  return fig;
}

function rulesCard(rules) {
  return el("div", { class: "card", id: "house-rules" }, el("h2", {}, "House rules"),
    el("ul", { class: "rules" }, rules.map((r) => el("li", {}, r))));
}

function index(book, content) {
  fill(content,
    el("h1", {}, "Label book"),
    rulesCard(book.rules),
    el("h2", { class: "section-gap" }, `Classes (${book.classes.length})`),
    el("div", { class: "classgrid" }, book.classes.map((c) => el("a", { class: "card", href: `/ui/labelbook/${encodeURIComponent(c.name)}`,
      dataset: { class: c.name } },
    el("div", { class: "row" }, swatch(c.colour), el("b", {}, c.name),
      c.is_defect === true ? el("span", { class: "badge rejected" }, "defect") : null),
    el("p", { class: "small muted" }, c.description || "No description yet."),
    el("div", { class: "chips" }, c.tools.map((t) => el("span", { class: "chip" }, TOOL_NAMES[t] || t))),
    el("p", { class: "small muted" }, `${c.examples.length} examples · ${c.counter_examples.length} counter-examples`)))),
  );
}

function exampleFigures(list, counter, me, name, reload) {
  if (!list.length) return el("p", { class: "muted small" }, counter ? "No counter-examples yet." : "No examples yet.");
  const staff = ["admin", "manager"].includes(me.role);
  return el("div", { class: "examples" }, list.map((e) => el("figure", { class: counter ? "counter" : "", dataset: { example: e.id } },
    el("img", { src: e.image_url, alt: e.path, loading: "lazy" }),
    el("figcaption", {}, el("div", {}, el("b", {}, e.note || e.path)), el("div", { class: "muted" }, e.path),
      staff ? el("button", { class: "small", onclick: async () => {
        await api("DELETE", `/labelbook/classes/${encodeURIComponent(name)}/examples/${e.id}`);
        reload();
      } }, "Remove") : null))));
}

function editor(c, reload) {
  const error = el("div", { class: "error hidden" });
  const show = (err) => { error.textContent = err.message; error.classList.remove("hidden"); };
  const description = el("textarea", { id: "edit-description" }, c.description);
  const orientation = el("select", { id: "edit-orientation" }, ["directed", "axial", "none"].map((o) =>
    el("option", { value: o, selected: o === c.orientation }, o)));
  const sample = el("input", { type: "number", id: "example-sample", min: "1", placeholder: "sample id" });
  const note = el("input", { type: "text", id: "example-note", placeholder: "what it shows" });
  const counter = el("input", { type: "checkbox", id: "example-counter" });
  return el("div", { class: "card", id: "class-editor" },
    el("h2", {}, "Edit this class"),
    el("label", { for: "edit-description" }, "Description"), description,
    el("label", { for: "edit-orientation" }, "Orientation"), orientation,
    el("div", { class: "row" }, el("button", { class: "primary", onclick: async () => {
      try {
        await api("PATCH", `/labelbook/classes/${encodeURIComponent(c.name)}`,
          { json: { description: description.value, orientation: orientation.value } });
        reload();
      } catch (err) { show(err); }
    } }, "Save")),
    el("h3", { class: "section-gap" }, "Add an example"),
    el("div", { class: "row" }, sample, note),
    el("label", { class: "inline" }, counter, "counter-example (what this class is not)"),
    el("button", { onclick: async () => {
      try {
        await api("POST", `/labelbook/classes/${encodeURIComponent(c.name)}/examples`,
          { json: { sample_id: Number(sample.value), note: note.value, counter: counter.checked } });
        reload();
      } catch (err) { show(err); }
    } }, "Add"),
    error);
}

function classPage(book, c, me, content, reload) {
  const attributes = Object.entries(c.attributes);
  fill(content,
    el("p", { class: "small" }, el("a", { href: "/ui/labelbook" }, "‹ Label book")),
    el("div", { class: "pagehead" }, swatch(c.colour), el("h1", {}, c.name),
      c.is_defect === true ? el("span", { class: "badge rejected" }, "defect") : null,
      c.is_defect === false ? el("span", { class: "badge accepted" }, "not a defect") : null),
    el("div", { class: "twocol" },
      el("div", { class: "card", id: "class-description" }, el("h2", {}, "What it is"),
        el("p", {}, c.description || "No description yet: ask a manager to write one.")),
      el("div", { class: "card", id: "class-tools" }, el("h2", {}, "How to draw it"),
        el("div", { class: "chips" }, c.tools.map((t) => el("span", { class: "chip", dataset: { tool: t } },
          TOOL_NAMES[t] || t, " ", el("kbd", {}, TOOL_KEYS[t] || "")))),
        attributes.length ? el("div", {}, el("h3", { class: "section-gap" }, "Attributes"),
          el("ul", { class: "rules" }, attributes.map(([name, a]) => el("li", {}, el("code", {}, name), ` — ${a.type}`,
            a.choices.length ? ` (${a.choices.join(", ")})` : "", a.required ? ", required" : ", optional")))) : null)),
    el("div", { class: "twocol" },
      el("div", { class: "card", id: "class-orientation" }, el("h2", {}, `Orientation: ${c.orientation}`),
        el("p", {}, c.orientation_rule), orientationFigure(c.orientation, c.colour || "#2f6fde")),
      rulesCard(book.rules)),
    el("div", { class: "card", id: "examples" }, el("h2", {}, "Examples"),
      exampleFigures(c.examples, false, me, c.name, reload)),
    el("div", { class: "card section-gap", id: "counter-examples" }, el("h2", {}, "Counter-examples: not this class"),
      exampleFigures(c.counter_examples, true, me, c.name, reload)),
    ["admin", "manager"].includes(me.role) ? el("div", { class: "section-gap" }, editor(c, reload)) : null,
  );
}

async function main() {
  const me = await startPage("labelbook");
  const content = document.getElementById("content");
  const parts = pathParts();
  const name = parts.length > 2 ? parts[2] : null;
  const load = async () => {
    const book = await api("GET", "/labelbook");
    book.classes = withColours(book.classes);
    if (!name) {
      index(book, content);
      return;
    }
    const c = book.classes.find((x) => x.name === name);
    if (!c) {
      fill(content, el("h1", {}, "Label book"), el("div", { class: "error" }, `There is no class ${name}.`),
        el("a", { href: "/ui/labelbook" }, "All classes"));
      return;
    }
    document.title = `${c.name} · label book · keepsight`;
    classPage(book, c, me, content, load);
  };
  await load();
}

main();
