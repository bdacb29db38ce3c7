// The image and its annotations on a Konva stage: zoom, pan, selection, moving and reshaping regions.
// Everything on the stage is in image pixels; the stage's scale and position are the view.
import { bounds, normaliseAngle, pairs, round } from "./geometry.js";

const Konva = window.Konva;
const MIN_SCALE = 0.02;
const MAX_SCALE = 64;
const FINDING_COLOUR = "#ffb020";

export function hexToRgb(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}

function rgba(hex, alpha) {
  const [r, g, b] = hexToRgb(hex);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

// The boxes a finding's evidence names for this image: "box", "boxes" (a list, or a dict by path),
// and the "box" of each marking or edit (see keepsight.checks).
export function findingBoxes(finding, path) {
  const ev = finding.evidence || {};
  const out = [];
  const isBox = (b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number");
  if (isBox(ev.box)) out.push(ev.box);
  if (Array.isArray(ev.boxes)) out.push(...ev.boxes.filter(isBox));
  else if (ev.boxes && typeof ev.boxes === "object" && Array.isArray(ev.boxes[path])) out.push(...ev.boxes[path].filter(isBox));
  for (const key of ["markings", "edits"]) {
    if (Array.isArray(ev[key])) for (const m of ev[key]) if (m && isBox(m.box)) out.push(m.box);
  }
  const seen = new Set();
  return out.filter((b) => !seen.has(b.join()) && seen.add(b.join()));
}

export class View extends EventTarget {
  constructor(container) {
    super();
    this.container = container;
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 800, height: container.clientHeight || 600 });
    // Four layers: the image with the masks on it, the regions, the findings with the editing handles,
    // and what a tool is drawing (with the brush cursor).
    const base = new Konva.Layer({ listening: false });
    this.imageLayer = new Konva.Group();
    this.maskLayer = new Konva.Group();
    base.add(this.imageLayer, this.maskLayer);
    this.shapeLayer = new Konva.Layer();
    this.uiLayer = new Konva.Layer();
    this.findingLayer = new Konva.Group({ listening: false });
    this.handleLayer = new Konva.Group();
    this.uiLayer.add(this.findingLayer, this.handleLayer);
    this.overlay = new Konva.Layer({ listening: false });
    for (const layer of [base, this.shapeLayer, this.uiLayer, this.overlay]) this.stage.add(layer);
    this.width = 0;
    this.height = 0;
    this.scale = 1;
    this.items = [];
    this.selected = null;
    this.classes = {};
    this.findings = [];
    this.path = "";
    this.showFindings = true;
    this.editable = false;
    this.tool = "select";
    this.panning = null;
    this.spaceDown = false;

    new ResizeObserver(() => this.resize()).observe(container);
    this.stage.on("wheel", (e) => {
      e.evt.preventDefault();
      const factor = e.evt.deltaY < 0 ? 1.15 : 1 / 1.15;
      this.zoomAt(factor, this.stage.getPointerPosition());
    });
    this.stage.on("mousedown", (e) => this.maybePan(e));
    window.addEventListener("mousemove", (e) => this.panMove(e));
    window.addEventListener("mouseup", () => { this.panning = null; });
  }

  // -- the view ---------------------------------------------------------------------------------

  setImage(image) {
    this.imageLayer.destroyChildren();
    this.width = image.naturalWidth;
    this.height = image.naturalHeight;
    this.imageLayer.add(new Konva.Image({ image, x: 0, y: 0, width: this.width, height: this.height }));
    this.imageLayer.add(new Konva.Rect({ x: 0, y: 0, width: this.width, height: this.height, stroke: "#000",
      strokeWidth: 1, strokeScaleEnabled: false }));
    this.fit();
  }

  resize() {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight;
    if (!w || !h) return;
    const firstSize = this.stage.width() !== w || this.stage.height() !== h;
    this.stage.size({ width: w, height: h });
    if (firstSize && this.width && !this.userZoomed) this.fit();
  }

  fit() {
    if (!this.width) return;
    const w = this.stage.width();
    const h = this.stage.height();
    const s = Math.min(w / this.width, h / this.height) * 0.94;
    this.userZoomed = false;
    this.apply(s, (w - this.width * s) / 2, (h - this.height * s) / 2);
  }

  apply(scale, x, y) {
    this.scale = scale;
    this.stage.scale({ x: scale, y: scale });
    this.stage.position({ x, y });
    // The view transform, for the test suite and for debugging: client = container + (x, y) + scale * image.
    Object.assign(this.container.dataset, { scale: String(scale), x: String(x), y: String(y) });
    this.redraw();
    this.dispatchEvent(new CustomEvent("zoom", { detail: scale }));
  }

  zoomAt(factor, point) {
    const p = point || { x: this.stage.width() / 2, y: this.stage.height() / 2 };
    const s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const pos = this.stage.position();
    const ix = (p.x - pos.x) / this.scale;
    const iy = (p.y - pos.y) / this.scale;
    this.userZoomed = true;
    this.apply(s, p.x - ix * s, p.y - iy * s);
  }

  pointer() {
    const p = this.stage.getRelativePointerPosition();
    return p ? { x: p.x, y: p.y } : null;
  }

  maybePan(e) {
    const onEmpty = e.target === this.stage;
    const wanted = e.evt.button === 1 || this.spaceDown || (this.tool === "select" && onEmpty && e.evt.button === 0);
    if (!wanted) return;
    e.evt.preventDefault();
    this.panning = { x: e.evt.clientX, y: e.evt.clientY, pos: this.stage.position() };
    if (this.tool === "select" && onEmpty && e.evt.button === 0) this.select(null);
  }

  panMove(evt) {
    if (!this.panning) return;
    const { x, y, pos } = this.panning;
    this.userZoomed = true;
    this.apply(this.scale, pos.x + evt.clientX - x, pos.y + evt.clientY - y);
  }

  get isPanning() {
    return this.panning !== null;
  }

  // -- content ----------------------------------------------------------------------------------

  render({ items, selected, classes, findings, path, editable, tool }) {
    Object.assign(this, { items, selected, classes, findings, path, editable, tool });
    this.redraw();
  }

  select(uid) {
    if (uid === this.selected) return;
    this.selected = uid;
    this.dispatchEvent(new CustomEvent("select", { detail: uid }));
  }

  colour(label) {
    return (this.classes[label] && this.classes[label].colour) || "#ff00ff";
  }

  edit(uid, geometry) {
    this.dispatchEvent(new CustomEvent("edit", { detail: { uid, geometry } }));
  }

  redraw() {
    this.maskLayer.destroyChildren();
    this.shapeLayer.destroyChildren();
    this.findingLayer.destroyChildren();
    this.handleLayer.destroyChildren();
    const movable = this.editable && this.tool === "select";
    this.shapeLayer.listening(this.tool === "select");
    this.handleLayer.listening(movable);
    const px = 1 / this.scale; // one screen pixel in image pixels
    for (const a of this.items) {
      if (a.kind === "tag") continue;
      const on = a.uid === this.selected;
      if (a.kind === "mask") {
        if (a.canvas) this.maskLayer.add(new Konva.Image({ image: a.canvas, x: 0, y: 0, opacity: on ? 0.72 : 0.45 }));
        if (on) this.outline(a, px);
        continue;
      }
      const node = this.shape(a, on, px);
      if (!node) continue;
      node.setAttrs({ id: a.uid, draggable: movable });
      // Select on click, not on press: a redraw during the press would lose the drag that may follow.
      node.on("click", (e) => {
        if (this.tool === "select" && e.evt.button === 0) this.select(a.uid);
      });
      node.on("dragend", () => {
        this.select(a.uid);
        this.edit(a.uid, this.dragged(a, node));
      });
      this.shapeLayer.add(node);
      if (on && movable) this.handles(a, node, px);
    }
    if (this.showFindings) this.drawFindings(px);
    this.maskLayer.getLayer().batchDraw();
    this.shapeLayer.batchDraw();
    this.uiLayer.batchDraw();
  }

  refreshMasks() {
    this.maskLayer.getLayer().batchDraw();
  }

  style(a, on) {
    const colour = this.colour(a.label);
    return { stroke: colour, strokeWidth: on ? 3 : 2, strokeScaleEnabled: false, hitStrokeWidth: 10,
      shadowColor: on ? "#ffffff" : undefined, shadowBlur: on ? 6 : 0, shadowForStrokeEnabled: on };
  }

  shape(a, on, px) {
    const g = a.geometry;
    const colour = this.colour(a.label);
    const fill = rgba(colour, on ? 0.22 : 0.12);
    if (a.kind === "box") {
      return new Konva.Rect({ x: g[0], y: g[1], width: g[2] - g[0], height: g[3] - g[1], fill, ...this.style(a, on) });
    }
    if (a.kind === "rotated_box") {
      const [cx, cy, w, h, angle] = g;
      const group = new Konva.Group({ x: cx, y: cy, rotation: angle });
      group.add(new Konva.Rect({ x: -w / 2, y: -h / 2, width: w, height: h, fill, ...this.style(a, on) }));
      const orientation = (this.classes[a.label] || {}).orientation;
      if (orientation === "directed") { // the head: along local +x (corner 0 -> corner 1)
        group.add(new Konva.Arrow({ points: [0, 0, w / 2 + 14 * px, 0], stroke: colour, fill: colour, strokeWidth: 2,
          strokeScaleEnabled: false, pointerLength: 9 * px, pointerWidth: 9 * px, name: "head" }));
      } else if (orientation === "axial") {
        group.add(new Konva.Line({ points: [-w / 2, 0, w / 2, 0], stroke: colour, strokeWidth: 1, dash: [4 * px, 3 * px],
          strokeScaleEnabled: false }));
      }
      return group;
    }
    if (a.kind === "polygon" || a.kind === "polyline") {
      return new Konva.Line({ points: g.slice(), closed: a.kind === "polygon", fill: a.kind === "polygon" ? fill : undefined,
        lineJoin: "round", ...this.style(a, on) });
    }
    if (a.kind === "points") {
      const group = new Konva.Group();
      for (const [x, y] of pairs(g)) {
        group.add(new Konva.Circle({ x, y, radius: (on ? 6 : 5) * px, fill: colour, stroke: "#fff", strokeWidth: 1,
          strokeScaleEnabled: false }));
      }
      return group;
    }
    return null;
  }

  outline(a, px) {
    if (!a.bbox) return;
    const [x1, y1, x2, y2] = a.bbox;
    this.handleLayer.add(new Konva.Rect({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: this.colour(a.label),
      strokeWidth: 1, dash: [5 * px, 4 * px], strokeScaleEnabled: false, listening: false }));
  }

  // The geometry after the user dragged a whole region.
  dragged(a, node) {
    const dx = node.x();
    const dy = node.y();
    const g = a.geometry;
    if (a.kind === "box") return [dx, dy, dx + node.width(), dy + node.height()].map(round);
    if (a.kind === "rotated_box") return [round(dx), round(dy), g[2], g[3], g[4]];
    return g.map((v, i) => round(v + (i % 2 === 0 ? dx : dy)));
  }

  handles(a, node, px) {
    if (a.kind === "box" || a.kind === "rotated_box") {
      const tr = new Konva.Transformer({ nodes: [node], rotateEnabled: a.kind === "rotated_box", flipEnabled: false,
        keepRatio: false, ignoreStroke: true, anchorSize: 9, borderStroke: "#ffffff", borderDash: [4, 3],
        anchorStroke: "#1f2a37", anchorFill: "#ffffff", rotateAnchorOffset: 28 });
      node.on("transformend", () => {
        if (a.kind === "box") {
          const x = node.x();
          const y = node.y();
          this.edit(a.uid, [x, y, x + node.width() * node.scaleX(), y + node.height() * node.scaleY()].map(round));
        } else {
          const rect = node.findOne("Rect");
          this.edit(a.uid, [node.x(), node.y(), rect.width() * Math.abs(node.scaleX()),
            rect.height() * Math.abs(node.scaleY()), normaliseAngle(node.rotation())].map(round));
        }
      });
      this.handleLayer.add(tr);
      return;
    }
    // polygon, polyline, points: a handle per vertex
    const points = a.geometry.slice();
    pairs(points).forEach(([x, y], i) => {
      const handle = new Konva.Circle({ x, y, radius: 5 * px, fill: "#ffffff", stroke: "#1f2a37", strokeWidth: 1,
        strokeScaleEnabled: false, draggable: true, name: "vertex" });
      handle.on("mousedown", (e) => { e.cancelBubble = true; });
      handle.on("dragmove", () => {
        points[2 * i] = handle.x();
        points[2 * i + 1] = handle.y();
        if (a.kind !== "points") node.points(points);
        else node.getChildren()[i].position({ x: handle.x(), y: handle.y() });
        this.shapeLayer.batchDraw();
      });
      handle.on("dragend", () => this.edit(a.uid, points.map(round)));
      this.handleLayer.add(handle);
    });
  }

  drawFindings(px) {
    const flagged = new Set(this.findings.flatMap((f) => f.annotations || []));
    for (const f of this.findings) {
      for (const [x1, y1, x2, y2] of findingBoxes(f, this.path)) {
        this.findingLayer.add(new Konva.Rect({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: FINDING_COLOUR,
          strokeWidth: 2, dash: [7 * px, 4 * px], strokeScaleEnabled: false }));
        this.findingLayer.add(new Konva.Label({ x: x1, y: y1 - 18 * px }).add(
          new Konva.Tag({ fill: FINDING_COLOUR, cornerRadius: 2 * px }),
          new Konva.Text({ text: f.check || "finding", fontSize: 11 * px, padding: 3 * px, fill: "#1d2430" }),
        ));
      }
    }
    for (const a of this.items) {
      if (!flagged.has(a.uid)) continue;
      const b = a.kind === "mask" ? a.bbox : bounds(a.kind, a.geometry);
      if (!b) continue;
      const pad = 4 * px;
      this.findingLayer.add(new Konva.Rect({ x: b[0] - pad, y: b[1] - pad, width: b[2] - b[0] + 2 * pad,
        height: b[3] - b[1] + 2 * pad, stroke: FINDING_COLOUR, strokeWidth: 2, dash: [3 * px, 3 * px],
        strokeScaleEnabled: false }));
    }
  }
}
