// The annotation page: one job's images, one at a time, with the drawing tools, the class picker,
// attributes, image tags, the audit's findings, undo and autosave.
import { api, badge, el, fill, pathParts, startPage, swatch, withColours } from "../api.js";
import { Autosave } from "./autosave.js";
import { round } from "./geometry.js";
import { rleToCanvas } from "./rle.js";
import { newUid, Store } from "./store.js";
import { icon, makeTool, TOOLS, wireTools } from "./tools.js";
import { hexToRgb, View } from "./view.js";

const $ = (id) => document.getElementById(id);
const ALL_STATES = ["new", "in_progress", "rejected", "submitted"];
// Who may change a job image in which job state: the server's DRAFT_EDIT_STATES (roles.py), mirrored
// so the page can say so up front; the server decides.
const EDIT_STATES = { assignee: ["new", "in_progress", "rejected"], reviewer: ["submitted"], manager: ALL_STATES,
  admin: ALL_STATES };
const BRUSH_MAX = 200;

function maskStats(canvas) {
  const { width: w, height: h } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  let area = 0;
  let x1 = w;
  let y1 = h;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      if (data[(y * w + x) * 4 + 3] >= 128) { // the server's rule: alpha >= 128 is in the mask
        area += 1;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
    }
  }
  return { area, bbox: area ? [x1, y1, x2 + 1, y2 + 1] : null };
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`the image ${url} could not be loaded`));
    image.src = url;
  });
}

function describe(a) {
  const g = a.geometry;
  switch (a.kind) {
    case "box": return `${round(g[2] - g[0])} × ${round(g[3] - g[1])} px at (${round(g[0])}, ${round(g[1])})`;
    case "rotated_box": return `${round(g[2])} × ${round(g[3])} px, ${round(g[4])}° at (${round(g[0])}, ${round(g[1])})`;
    case "polygon": case "polyline": case "points": return `${g.length / 2} points`;
    case "mask": return `${a.area ?? "?"} px`;
    default: return "";
  }
}

class AnnotationPage {
  constructor(me, job, book) {
    this.me = me;
    this.job = job;
    this.rules = book.rules;
    const classes = withColours(book.classes);
    this.classes = Object.fromEntries(classes.map((c) => [c.name, c]));
    this.classOrder = book.classes.map((c) => c.name);
    this.store = new Store();
    this.view = new View($("stage"));
    this.autosave = null;
    this.index = -1;
    this.item = null;
    this.findings = [];
    this.selected = null;
    this.toolName = "select";
    this.tool = null;
    this.currentClass = this.classOrder.find((n) => !this.isTagOnly(n)) || this.classOrder[0] || null;
    this.brushSize = 16;
    this.editable = false;
    this.loading = false;
    this.store.addEventListener("change", () => {
      this.renderAll();
      if (this.autosave) this.autosave.schedule();
    });
    this.view.addEventListener("select", (e) => this.select(e.detail));
    this.view.addEventListener("edit", (e) => this.store.update(e.detail.uid, { geometry: e.detail.geometry }));
    this.view.addEventListener("zoom", () => this.tool && this.tool.cursor && this.tool.showCursor(this.view.pointer()));
    wireTools(this.view, () => (this.editable ? this.tool : null));
    this.wireControls();
  }

  // -- classes and tools ------------------------------------------------------------------------

  allows(name, kind) {
    const spec = this.classes[name];
    return Boolean(spec && kind && spec.kinds.includes(kind));
  }

  isTagOnly(name) {
    const spec = this.classes[name];
    return spec && spec.kinds.length === 1 && spec.kinds[0] === "tag";
  }

  colour(label = this.currentClass) {
    return (this.classes[label] && this.classes[label].colour) || "#ff00ff";
  }

  setTool(name) {
    const spec = TOOLS[name];
    if (!spec || (name !== "select" && !this.editable)) return;
    if (spec.kind && !this.allows(this.currentClass, spec.kind)) {
      const other = this.classOrder.find((n) => this.allows(n, spec.kind));
      if (!other) {
        this.message(`No class of the label book is drawn with the ${name} tool.`);
        return;
      }
      this.currentClass = other;
    }
    if (this.tool) this.tool.cancel();
    this.toolName = name;
    this.tool = makeTool(name, this);
    const stage = $("stage");
    stage.classList.toggle("pan", name === "select");
    stage.classList.toggle("draw", ["box", "rotated", "polygon", "polyline", "points"].includes(name));
    stage.classList.toggle("paint", name === "brush" || name === "eraser");
    $("hint").textContent = spec.title;
    this.renderAll();
  }

  setClass(name) {
    if (!this.classes[name]) return;
    this.currentClass = name;
    const kind = TOOLS[this.toolName].kind;
    if (kind && !this.allows(name, kind)) {
      const tool = Object.keys(TOOLS).find((t) => TOOLS[t].kind && this.allows(name, TOOLS[t].kind) && t !== "eraser");
      this.setTool(tool || "select");
      return;
    }
    this.renderAll();
  }

  message(text) {
    const hint = $("hint");
    hint.textContent = text;
    clearTimeout(this.messageTimer);
    this.messageTimer = setTimeout(() => { hint.textContent = TOOLS[this.toolName].title; }, 5000);
  }

  // -- changes the tools make -------------------------------------------------------------------

  newAnnotation(kind, geometry, extra = {}) {
    const spec = this.classes[this.currentClass];
    const attributes = {};
    for (const [name, attr] of Object.entries(spec.attributes || {})) if (attr.type === "bool") attributes[name] = false;
    return { uid: newUid(), label: this.currentClass, kind, geometry, attributes, revision: null, ...extra };
  }

  addRegion(kind, geometry) {
    if (!this.allows(this.currentClass, kind)) {
      this.message(`Class ${this.currentClass} is not drawn as ${kind.replace("_", " ")}.`);
      return;
    }
    const a = this.store.add(this.newAnnotation(kind, geometry));
    this.select(a.uid);
    const spec = this.classes[a.label];
    if (Object.values(spec.attributes || {}).some((attr) => attr.required)) {
      const input = document.querySelector("#selected [data-required]");
      if (input) input.focus();
    }
  }

  brushTarget() {
    if (!this.allows(this.currentClass, "mask")) {
      this.message(`Class ${this.currentClass} is not drawn as a mask; choose a mask class.`);
      return null;
    }
    const sel = this.store.get(this.selected);
    if (sel && sel.kind === "mask" && sel.label === this.currentClass) return this.store.beginPaint([sel.uid]);
    const canvas = document.createElement("canvas");
    canvas.width = this.view.width;
    canvas.height = this.view.height;
    const a = this.store.add(this.newAnnotation("mask", null, { canvas, area: 0, bbox: null }));
    this.selected = a.uid;
    this.renderAll();
    return [a];
  }

  eraseTargets() {
    const sel = this.store.get(this.selected);
    const uids = sel && sel.kind === "mask" ? [sel.uid] : this.store.items.filter((a) => a.kind === "mask").map((a) => a.uid);
    if (!uids.length) {
      this.message("There is no mask to erase from.");
      return null;
    }
    return this.store.beginPaint(uids);
  }

  endPaint() {
    for (const a of this.store.items) {
      if (a.kind === "mask" && a.geometry === null) Object.assign(a, maskStats(a.canvas)); // the stroke's fresh copies
    }
    this.store.changed();
  }

  relabel(a, label) {
    const patch = { label };
    if (a.kind === "mask") { // repaint in the new class colour (the pixels, not the colour, are the mask)
      const canvas = document.createElement("canvas");
      canvas.width = a.canvas.width;
      canvas.height = a.canvas.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(a.canvas, 0, 0);
      ctx.globalCompositeOperation = "source-in";
      ctx.fillStyle = this.colour(label);
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      Object.assign(patch, { canvas, geometry: a.geometry });
    }
    this.store.update(a.uid, patch);
  }

  setAttribute(uid, name, value) {
    const a = this.store.get(uid);
    if (!a) return;
    const attributes = { ...a.attributes };
    if (value === undefined) delete attributes[name];
    else attributes[name] = value;
    this.store.update(uid, { attributes });
  }

  toggleTag(label = this.currentClass) {
    if (!this.editable) return;
    if (!this.allows(label, "tag")) {
      const tagClasses = this.classOrder.filter((n) => this.allows(n, "tag"));
      this.message(`Class ${label} is not an image tag${tagClasses.length ? ` (tags: ${tagClasses.join(", ")})` : ""}.`);
      return;
    }
    const existing = this.store.items.find((a) => a.kind === "tag" && a.label === label);
    if (existing) this.store.remove(existing.uid);
    else this.store.add({ ...this.newAnnotation("tag", null), label });
  }

  deleteSelected() {
    if (!this.editable || !this.selected) return;
    this.store.remove(this.selected);
    this.selected = null;
    this.renderAll();
  }

  select(uid) {
    this.selected = uid;
    const a = this.store.get(uid);
    if (a && this.classes[a.label] && this.currentClass !== a.label) this.currentClass = a.label;
    this.renderAll();
  }

  isBusy() {
    return Boolean(this.tool && this.tool.active) || this.loading;
  }

  // -- images -----------------------------------------------------------------------------------

  canEdit(item) {
    if (!item || item.review === "accepted") return false;
    const who = this.me.user === this.job.assignee ? "assignee" : this.me.role;
    return (EDIT_STATES[who] || []).includes(this.job.state);
  }

  async open(index) {
    if (index < 0 || index >= this.job.items.length || this.loading) return;
    if (this.autosave && !(await this.autosave.flush()) && this.autosave.dirty) {
      this.message("This image is not saved yet (see the status at the top): fix it, or undo, before moving on.");
      return;
    }
    this.loading = true;
    try {
      const item = this.job.items[index];
      const base = `/jobs/${this.job.id}/items/${item.id}`;
      const [set, image, findings] = await Promise.all([
        api("GET", `${base}/annotations`), loadImage(`${base}/image`),
        api("GET", `${base}/findings`).catch(() => ({ findings: [] })),
      ]);
      if (this.tool) this.tool.cancel();
      this.index = index;
      this.item = item;
      this.findings = findings.findings || [];
      this.editable = this.canEdit(item);
      this.selected = null;
      this.view.setImage(image);
      this.autosave = this.makeAutosave(base);
      this.store.load(this.toStore(set.annotations));
      this.autosave.reset(set.revision);
      this.autosave.enabled = this.editable;
      if (!this.editable) this.status({ state: "", text: "Read only" });
      const url = new URL(location.href);
      url.searchParams.set("item", item.id);
      history.replaceState(null, "", url);
      if (!this.editable && this.toolName !== "select") this.setTool("select");
      this.renderChrome();
      this.renderAll();
    } finally {
      this.loading = false;
    }
  }

  toStore(annotations) {
    return annotations.map((a) => {
      if (a.kind !== "mask") return { ...a, attributes: a.attributes || {} };
      const [canvas] = rleToCanvas(a.geometry, hexToRgb(this.colour(a.label)));
      return { ...a, attributes: a.attributes || {}, canvas, ...maskStats(canvas) };
    });
  }

  makeAutosave(base) {
    const saver = new Autosave({ base, store: this.store, isBusy: () => this.isBusy() });
    saver.addEventListener("status", (e) => this.status(e.detail));
    saver.addEventListener("conflict", (e) => this.conflict(e.detail));
    return saver;
  }

  status({ state, text }) {
    const node = $("save-status");
    node.className = `status ${state}`;
    node.textContent = text;
    node.dataset.state = state;
  }

  conflict(body) {
    const dialog = $("conflict-dialog");
    const theirs = body.annotations.length;
    const mine = this.store.items.length;
    $("conflict-text").textContent = `${body.detail || "The image was saved elsewhere."} Their version has ${theirs} ` +
      `annotation${theirs === 1 ? "" : "s"}; yours has ${mine}.`;
    $("conflict-reload").onclick = () => {
      dialog.close();
      this.selected = null;
      this.store.load(this.toStore(body.annotations));
      this.autosave.reset(body.revision);
    };
    $("conflict-overwrite").onclick = () => {
      dialog.close();
      this.autosave.overwrite(body.revision);
    };
    if (!dialog.open) dialog.showModal();
  }

  // -- drawing the page -------------------------------------------------------------------------

  renderChrome() {
    const job = this.job;
    $("job-title").textContent = `Job #${job.id}`;
    const state = $("job-state");
    state.className = `badge ${job.state}`;
    state.textContent = job.state.replace("_", " ");
    $("position").textContent = `${this.index + 1} / ${job.items.length}`;
    $("image-path").textContent = this.item ? this.item.path : "";
    $("prev").disabled = this.index <= 0;
    $("next").disabled = this.index >= job.items.length - 1;
    const worker = job.assignee === this.me.user && ["new", "in_progress", "rejected"].includes(job.state);
    $("submit").classList.toggle("hidden", !worker);
    $("save").classList.toggle("hidden", !this.editable);
    const reviewer = ["admin", "manager", "reviewer"].includes(this.me.role) && job.state === "submitted" &&
      job.assignee !== this.me.user;
    const back = $("to-review");
    back.classList.toggle("hidden", !reviewer);
    back.href = `/ui/jobs/${job.id}/review?item=${this.item ? this.item.id : ""}`;
    const notices = [];
    if (this.item && this.item.review === "rejected" && this.item.review_comment) {
      notices.push(el("div", { class: "notice bad", id: "review-comment" }, el("b", {}, "Rejected: "), this.item.review_comment));
    } else if (job.state === "rejected" && job.comment) {
      notices.push(el("div", { class: "notice bad" }, el("b", {}, "Job rejected: "), job.comment));
    }
    if (this.item && this.item.review === "accepted") notices.push(el("div", { class: "notice ok" }, "Accepted: read only."));
    else if (!this.editable) notices.push(el("div", { class: "notice info" }, `Read only: the job is ${job.state.replace("_", " ")}.`));
    fill($("notices"), ...notices);
    $("notices").classList.toggle("hidden", !notices.length);
    this.renderTools();
  }

  renderTools() {
    const bar = $("tools");
    const buttons = Object.entries(TOOLS).map(([name, spec]) => {
      const usable = name === "select" || (this.editable && this.classOrder.some((n) => this.allows(n, spec.kind)));
      return el("button", { class: name === this.toolName ? "on" : "", title: spec.title, disabled: !usable,
        dataset: { tool: name }, onclick: () => this.setTool(name) }, icon(name), el("small", {}, spec.key.toUpperCase()));
    });
    const tagUsable = this.editable && this.classOrder.some((n) => this.allows(n, "tag"));
    buttons.splice(Object.keys(TOOLS).length, 0, el("div", { class: "sep" }));
    buttons.push(el("button", { title: "Toggle the chosen class as an image tag (T)", disabled: !tagUsable,
      dataset: { tool: "tag" }, onclick: () => this.toggleTag() }, icon("tag"), el("small", {}, "T")));
    buttons.push(el("div", { class: "sep" }));
    buttons.push(el("button", { title: "Undo (Ctrl+Z)", disabled: !this.editable, dataset: { tool: "undo" },
      onclick: () => this.undo() }, icon("undo"), el("small", {}, "undo")));
    fill(bar, ...buttons);
  }

  renderAll() {
    if (this.selected && !this.store.get(this.selected)) this.selected = null;
    this.view.render({ items: this.store.items, selected: this.selected, classes: this.classes, findings: this.findings,
      path: this.item ? this.item.path : "", editable: this.editable, tool: this.toolName });
    for (const b of document.querySelectorAll("#tools [data-tool]")) b.classList.toggle("on", b.dataset.tool === this.toolName);
    this.renderClasses();
    this.renderSelected();
    this.renderTags();
    this.renderRegions();
    this.renderFindings();
    $("brush-section").classList.toggle("hidden", !["brush", "eraser"].includes(this.toolName));
    $("brush-value").textContent = `${this.brushSize} px`;
  }

  renderClasses() {
    const kind = TOOLS[this.toolName].kind;
    const buttons = this.classOrder.map((name, i) => {
      const spec = this.classes[name];
      // Classes the current tool cannot draw stay clickable (choosing one switches to a tool it allows), dimmed.
      const dim = Boolean(kind) && !this.allows(name, kind);
      return el("button", { class: `${name === this.currentClass ? "on" : ""}${dim ? " dim" : ""}`,
        dataset: { class: name }, title: spec.description || name, onclick: () => this.setClass(name) },
      swatch(spec.colour), name, i < 9 ? el("kbd", { class: "key" }, String(i + 1)) : null);
    });
    fill($("classes"), ...buttons);
    const spec = this.classes[this.currentClass];
    const rule = $("class-rule");
    if (!spec) {
      rule.classList.add("hidden");
      return;
    }
    rule.classList.remove("hidden");
    fill(rule, 
      spec.description ? el("p", {}, spec.description) : null,
      el("p", {}, "Drawn with: ", spec.tools.join(", "), ". ",
        spec.kinds.includes("rotated_box") ? spec.orientation_rule : ""),
      el("a", { href: `/ui/labelbook/${encodeURIComponent(spec.name)}`, target: "_blank" }, "Label-book page ›"),
    );
  }

  renderSelected() {
    const a = this.store.get(this.selected);
    $("selected-section").classList.toggle("hidden", !a || a.kind === "tag");
    if (!a || a.kind === "tag") return;
    const spec = this.classes[a.label] || { attributes: {} };
    const ro = !this.editable;
    const classSelect = el("select", { id: "selected-class", disabled: ro,
      onchange: (e) => this.relabel(a, e.target.value) },
    this.classOrder.filter((n) => this.allows(n, a.kind) || n === a.label).map((n) => el("option", { value: n, selected: n === a.label }, n)));
    const fields = Object.entries(spec.attributes || {}).map(([name, attr]) => {
      const value = a.attributes[name];
      const id = `attr-${name}`;
      const labelText = `${name}${attr.required ? " (required)" : ""}`;
      let input;
      const common = { id, disabled: ro, dataset: { attribute: name, ...(attr.required ? { required: "1" } : {}) } };
      if (attr.type === "bool") {
        input = el("input", { ...common, type: "checkbox", checked: Boolean(value),
          onchange: (e) => this.setAttribute(a.uid, name, e.target.checked) });
        return el("label", { class: "inline", for: id }, input, labelText);
      }
      if (attr.type === "choice") {
        input = el("select", { ...common, onchange: (e) => this.setAttribute(a.uid, name, e.target.value || undefined) },
          el("option", { value: "" }, "—"), attr.choices.map((c) => el("option", { value: c, selected: c === value }, c)));
      } else {
        input = el("input", { ...common, type: attr.type === "number" ? "number" : "text", value: value ?? "",
          placeholder: attr.type === "text" ? "type the value" : "",
          onchange: (e) => {
            const raw = e.target.value;
            const parsed = attr.type === "number" ? (raw === "" ? undefined : Number(raw)) : (raw === "" ? undefined : raw);
            this.setAttribute(a.uid, name, parsed);
          },
          onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); } });
      }
      return el("div", {}, el("label", { for: id }, labelText), input);
    });
    fill($("selected"), 
      el("label", { for: "selected-class" }, "Class"), classSelect,
      fields,
      el("p", { class: "small muted" }, `${a.kind.replace("_", " ")} · ${describe(a)}`),
      ro ? null : el("button", { class: "danger", id: "delete-region", onclick: () => this.deleteSelected() }, "Delete (Del)"),
    );
  }

  renderTags() {
    const tagClasses = this.classOrder.filter((n) => this.allows(n, "tag"));
    const present = new Set(this.store.items.filter((a) => a.kind === "tag").map((a) => a.label));
    fill($("tags"), ...(tagClasses.length ? tagClasses.map((name) => el("label", { class: "inline" },
      el("input", { type: "checkbox", checked: present.has(name), disabled: !this.editable, dataset: { tag: name },
        onchange: () => this.toggleTag(name) }),
      swatch(this.colour(name)), name)) : [el("span", { class: "muted small" }, "No class of the label book is a tag.")]));
  }

  renderRegions() {
    const regions = this.store.items.filter((a) => a.kind !== "tag");
    $("region-count").textContent = `(${regions.length})`;
    fill($("regions"), ...regions.map((a) => {
      const attrs = Object.entries(a.attributes || {}).filter(([, v]) => v !== false && v !== "")
        .map(([k, v]) => `${k}=${v}`).join(" ");
      return el("li", { class: a.uid === this.selected ? "on" : "", onclick: () => this.select(a.uid),
        dataset: { uid: a.uid, kind: a.kind, label: a.label, area: a.kind === "mask" ? String(a.area) : "" } },
      swatch(this.colour(a.label)), a.label, attrs ? el("span", { class: "small muted" }, attrs) : null,
      el("span", { class: "kind" }, a.kind === "mask" ? `mask ${a.area} px` : a.kind.replace("_", " ")));
    }));
  }

  renderFindings() {
    $("finding-count").textContent = `(${this.findings.length})`;
    fill($("findings"), ...(this.findings.length ? this.findings.map((f) => el("li", { dataset: { check: f.check } },
      el("div", { class: "row" }, badge(f.severity || "info", f.severity || "info"), el("span", { class: "check" }, f.check)),
      f.message ? el("div", {}, f.message) : null,
      f.action ? el("div", { class: "muted" }, f.action) : null)) : [el("li", { class: "muted" }, "Nothing found on this image.")]));
  }

  // -- controls ---------------------------------------------------------------------------------

  undo() {
    if (!this.editable) return;
    if (this.tool && this.tool.active) {
      this.tool.cancel();
      return;
    }
    this.store.undo();
  }

  wireControls() {
    $("prev").onclick = () => this.open(this.index - 1);
    $("next").onclick = () => this.open(this.index + 1);
    $("save").onclick = () => this.autosave && this.autosave.flush();
    $("zoom-in").onclick = () => this.view.zoomAt(1.25);
    $("zoom-out").onclick = () => this.view.zoomAt(0.8);
    $("zoom-fit").onclick = () => this.view.fit();
    $("help").onclick = () => $("help-dialog").showModal();
    $("help-close").onclick = () => $("help-dialog").close();
    $("show-findings").onchange = (e) => {
      this.view.showFindings = e.target.checked;
      this.view.redraw();
    };
    const slider = $("brush-size");
    slider.oninput = () => {
      this.brushSize = Number(slider.value);
      this.renderAll();
    };
    $("submit").onclick = () => {
      $("submit-text").textContent = `${this.job.items.length} image(s). Once submitted, a reviewer accepts or rejects ` +
        "each image; you can change the images they reject.";
      $("submit-error").classList.add("hidden");
      $("submit-dialog").showModal();
    };
    $("submit-cancel").onclick = () => $("submit-dialog").close();
    $("submit-confirm").onclick = () => this.submit();
    window.addEventListener("beforeunload", (e) => {
      if (this.autosave && this.autosave.enabled && this.autosave.dirty) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && this.autosave) this.autosave.flush();
    });
    document.addEventListener("keydown", (e) => this.onKey(e));
    document.addEventListener("keyup", (e) => {
      if (e.key === " ") this.view.spaceDown = false;
    });
  }

  async submit() {
    const error = $("submit-error");
    const button = $("submit-confirm");
    button.disabled = true;
    try {
      if (this.autosave && !(await this.autosave.flush()) && this.autosave.dirty) {
        throw new Error("the current image is not saved: fix it first");
      }
      await api("POST", `/jobs/${this.job.id}/submit`);
      location.assign("/ui/jobs");
    } catch (err) {
      error.textContent = err.message;
      error.classList.remove("hidden");
      button.disabled = false;
    }
  }

  onKey(e) {
    const target = e.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (ctrl && key === "s") {
      e.preventDefault();
      if (typing) target.blur();
      if (this.autosave) this.autosave.flush();
      return;
    }
    if (typing) {
      if (e.key === "Escape") target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    if (ctrl) {
      if (key === "z") {
        e.preventDefault();
        if (e.shiftKey) this.store.redo();
        else this.undo();
      } else if (key === "y") {
        e.preventDefault();
        this.store.redo();
      }
      return;
    }
    if (e.altKey) return;
    if (this.tool && this.editable && this.tool.key(e)) {
      e.preventDefault();
      return;
    }
    const toolByKey = Object.keys(TOOLS).find((t) => TOOLS[t].key === key);
    if (toolByKey) {
      this.setTool(toolByKey);
    } else if (key === "t") {
      this.toggleTag();
    } else if (/^[1-9]$/.test(key) && this.classOrder[Number(key) - 1]) {
      this.setClass(this.classOrder[Number(key) - 1]);
    } else if (key === "Delete" || key === "Backspace") {
      this.deleteSelected();
    } else if (key === "Escape") {
      if (this.tool && this.tool.active) this.tool.cancel();
      else this.select(null);
    } else if (key === "ArrowRight" || key === "PageDown") {
      this.open(this.index + 1);
    } else if (key === "ArrowLeft" || key === "PageUp") {
      this.open(this.index - 1);
    } else if (key === "+" || key === "=") {
      this.view.zoomAt(1.25);
    } else if (key === "-") {
      this.view.zoomAt(0.8);
    } else if (key === "f" || key === "0") {
      this.view.fit();
    } else if (key === "[" || key === "]") {
      this.brushSize = Math.max(1, Math.min(BRUSH_MAX, Math.round(this.brushSize * (key === "]" ? 1.25 : 0.8))));
      $("brush-size").value = String(this.brushSize);
      this.renderAll();
      if (this.tool && this.tool.showCursor) this.tool.showCursor(this.view.pointer());
    } else if (key === "?") {
      $("help-dialog").showModal();
    } else if (key === " ") {
      this.view.spaceDown = true;
    } else {
      return;
    }
    e.preventDefault();
  }
}

async function main() {
  const me = await startPage("jobs");
  const jobId = Number(pathParts()[2]);
  const [job, book] = await Promise.all([api("GET", `/jobs/${jobId}`), api("GET", "/labelbook")]);
  document.title = `Job #${job.id} · keepsight`;
  const page = new AnnotationPage(me, job, book);
  window.keepsightAnnotationPage = page; // for debugging from the console
  if (!job.items.length) {
    page.status({ state: "", text: "This job has no images" });
    return;
  }
  const wanted = Number(new URLSearchParams(location.search).get("item"));
  let index = job.items.findIndex((i) => i.id === wanted);
  if (index < 0) index = Math.max(0, job.items.findIndex((i) => i.review === "rejected"));
  await page.open(index);
  page.setTool("select");
}

main().catch((err) => {
  const status = document.getElementById("save-status");
  if (status) {
    status.className = "status failed";
    status.textContent = err.message;
  }
});
