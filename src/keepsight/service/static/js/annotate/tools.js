// The drawing tools. Each reads the pointer in image pixels from the view and adds or changes
// annotations through the page (`host`), which owns the store and the chosen class.
import { boxFromCorners, clamp, rotatedCorners, rotatedFromClicks, round } from "./geometry.js";

const Konva = window.Konva;
const DOUBLE_CLICK_MS = 450;

export const TOOLS = {
  select: { key: "v", kind: null, title: "Select, move and reshape; drag the image to pan (V)" },
  box: { key: "b", kind: "box", title: "Box: drag from corner to corner (B)" },
  rotated: { key: "r", kind: "rotated_box", title: "Rotated box: click the first edge's two corners (the head points from the first to the second), then click to set the height (R)" },
  polygon: { key: "p", kind: "polygon", title: "Polygon: click the vertices, Enter or double-click to close (P)" },
  polyline: { key: "l", kind: "polyline", title: "Polyline: click the vertices, Enter or double-click to finish (L)" },
  points: { key: "k", kind: "points", title: "Points: click each point, Enter to finish (K)" },
  brush: { key: "m", kind: "mask", title: "Brush: paint a mask; [ and ] change the size (M)" },
  eraser: { key: "e", kind: "mask", title: "Eraser: erase from the selected mask, or from every mask (E)" },
};

// Tool icons: 24 x 24 SVG paths (drawn with the text colour), so no icon font is needed.
const ICONS = {
  select: "M5 3 L5 19 L9.5 14.8 L12.5 21 L15 19.8 L12 13.8 L18 13.5 Z",
  box: "M4 6 H20 V18 H4 Z",
  rotated: "M3 13 L13 3 L21 11 L11 21 Z M8 13 L14 7 M14 7 L14 11 M14 7 L10 7",
  polygon: "M12 3 L21 10 L17.5 20 L6.5 20 L3 10 Z",
  polyline: "M3 18 L8 8 L14 15 L21 5",
  points: "M6 7 m-2 0 a2 2 0 1 0 4 0 a2 2 0 1 0 -4 0 M17 9 m-2 0 a2 2 0 1 0 4 0 a2 2 0 1 0 -4 0 "
    + "M10 17 m-2 0 a2 2 0 1 0 4 0 a2 2 0 1 0 -4 0",
  brush: "M20 3 L11 13 M11 13 C8 12 5 14 5 17 C5 19 4 20 3 21 C7 21 11 20 12 16 Z",
  eraser: "M16 3 L21 8 L10 19 H5 L3 17 Z M9 10 L14 15 M10 19 H21",
  tag: "M3 3 H12 L21 12 L12 21 L3 12 Z M7.5 7.5 m-1.5 0 a1.5 1.5 0 1 0 3 0 a1.5 1.5 0 1 0 -3 0",
  undo: "M9 14 L4 9 L9 4 M4 9 H14 C18 9 20 12 20 15 C20 18 18 20 14 20 H11",
};

export function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", ICONS[name] || "");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linejoin", "round");
  path.setAttribute("stroke-linecap", "round");
  svg.append(path);
  return svg;
}

function previewStyle(colour, px) {
  return { stroke: colour, strokeWidth: 2, strokeScaleEnabled: false, dash: [6 * px, 4 * px] };
}

// Click-by-click shapes: polygon, polyline, points.
class VertexTool {
  constructor(host, kind, minimum) {
    this.host = host;
    this.kind = kind;
    this.minimum = minimum;
    this.points = [];
    this.lastDown = 0;
  }

  get active() {
    return this.points.length > 0;
  }

  down(p) {
    const px = 1 / this.host.view.scale;
    // A double click (a second press on the same spot, soon) finishes the shape. Konva's own dblclick
    // event would also fire for two quick clicks far apart, which are two vertices.
    const now = performance.now();
    const last = this.points[this.points.length - 1];
    const again = last && now - this.lastDown < DOUBLE_CLICK_MS && Math.hypot(p.x - last[0], p.y - last[1]) < 4 * px;
    this.lastDown = now;
    if (again) {
      this.finish();
      return;
    }
    if (this.kind === "polygon" && this.points.length >= 3) {
      const [x0, y0] = this.points[0];
      if (Math.hypot(p.x - x0, p.y - y0) < 8 * px) {
        this.finish();
        return;
      }
    }
    this.points.push([p.x, p.y]);
    this.preview(p);
  }

  move(p) {
    if (this.active) this.preview(p);
  }

  up() {}

  key(evt) {
    if (evt.key === "Enter" && this.active) {
      this.finish();
      return true;
    }
    if (evt.key === "Backspace" && this.active) {
      this.points.pop();
      this.preview(this.host.view.pointer());
      return true;
    }
    return false;
  }

  finish() {
    const points = this.points;
    this.cancel();
    if (points.length < this.minimum) {
      this.host.message(`A ${this.kind} needs at least ${this.minimum} points.`);
      return;
    }
    this.host.addRegion(this.kind, points.flat().map(round));
  }

  cancel() {
    this.points = [];
    this.host.view.overlay.destroyChildren();
    this.host.view.overlay.batchDraw();
  }

  preview(p) {
    const view = this.host.view;
    const px = 1 / view.scale;
    const colour = this.host.colour();
    view.overlay.destroyChildren();
    const flat = this.points.flat();
    if (this.kind !== "points" && p) flat.push(p.x, p.y);
    if (this.kind !== "points") {
      view.overlay.add(new Konva.Line({ points: flat, closed: this.kind === "polygon", ...previewStyle(colour, px) }));
    }
    for (const [x, y] of this.points) {
      view.overlay.add(new Konva.Circle({ x, y, radius: 4 * px, fill: colour, stroke: "#fff", strokeWidth: 1,
        strokeScaleEnabled: false }));
    }
    view.overlay.batchDraw();
  }
}

class BoxTool {
  constructor(host) {
    this.host = host;
    this.start = null;
  }

  get active() {
    return this.start !== null;
  }

  down(p) {
    this.start = p;
  }

  move(p) {
    if (!this.start) return;
    const view = this.host.view;
    const [x1, y1, x2, y2] = boxFromCorners(this.start, p);
    view.overlay.destroyChildren();
    view.overlay.add(new Konva.Rect({ x: x1, y: y1, width: x2 - x1, height: y2 - y1,
      ...previewStyle(this.host.colour(), 1 / view.scale) }));
    view.overlay.batchDraw();
  }

  up(p) {
    if (!this.start) return;
    const box = boxFromCorners(this.start, p).map(round);
    this.cancel();
    const minimum = 3 / this.host.view.scale; // a click, not a drag
    if (box[2] - box[0] < minimum || box[3] - box[1] < minimum) return;
    this.host.addRegion("box", box);
  }

  key() {
    return false;
  }

  cancel() {
    this.start = null;
    this.host.view.overlay.destroyChildren();
    this.host.view.overlay.batchDraw();
  }
}

class RotatedBoxTool {
  constructor(host) {
    this.host = host;
    this.clicks = [];
  }

  get active() {
    return this.clicks.length > 0;
  }

  down(p) {
    this.clicks.push(p);
    if (this.clicks.length === 3) {
      const g = rotatedFromClicks(...this.clicks);
      this.cancel();
      if (!g || g[3] < 1 / this.host.view.scale) {
        this.host.message("A rotated box needs a width and a height: click two corners, then the height.");
        return;
      }
      this.host.addRegion("rotated_box", g.map(round));
      return;
    }
    this.move(p);
  }

  move(p) {
    if (!this.active || !p) return;
    const view = this.host.view;
    const px = 1 / view.scale;
    const colour = this.host.colour();
    view.overlay.destroyChildren();
    if (this.clicks.length === 1) {
      const a = this.clicks[0];
      view.overlay.add(new Konva.Arrow({ points: [a.x, a.y, p.x, p.y], fill: colour, pointerLength: 10 * px,
        pointerWidth: 10 * px, ...previewStyle(colour, px) }));
    } else {
      const g = rotatedFromClicks(this.clicks[0], this.clicks[1], p);
      if (g) {
        view.overlay.add(new Konva.Line({ points: rotatedCorners(g).flat(), closed: true, ...previewStyle(colour, px) }));
        const [a, b] = this.clicks;
        view.overlay.add(new Konva.Arrow({ points: [a.x, a.y, b.x, b.y], fill: colour, stroke: colour, strokeWidth: 2,
          strokeScaleEnabled: false, pointerLength: 10 * px, pointerWidth: 10 * px }));
      }
    }
    view.overlay.batchDraw();
  }

  up() {}

  key(evt) {
    if (evt.key === "Backspace" && this.active) {
      this.clicks.pop();
      this.move(this.host.view.pointer());
      return true;
    }
    return false;
  }

  cancel() {
    this.clicks = [];
    this.host.view.overlay.destroyChildren();
    this.host.view.overlay.batchDraw();
  }
}

// Brush and eraser paint on each mask's offscreen canvas (the size of the image, opaque class colour);
// the autosave turns the canvas into the RLE the server stores.
class PaintTool {
  constructor(host, erase) {
    this.host = host;
    this.erase = erase;
    this.targets = null;
    this.last = null;
    this.cursor = null;
  }

  get active() {
    return this.targets !== null;
  }

  down(p) {
    this.targets = this.erase ? this.host.eraseTargets() : this.host.brushTarget();
    if (!this.targets || !this.targets.length) {
      this.targets = null;
      return;
    }
    this.last = p;
    this.dab(p, p);
  }

  move(p) {
    this.showCursor(p);
    if (!this.active) return;
    this.dab(this.last, p);
    this.last = p;
  }

  up() {
    if (!this.active) return;
    this.targets = null;
    this.host.endPaint();
  }

  dab(a, b) {
    const r = this.host.brushSize / 2;
    for (const mask of this.targets) {
      const ctx = mask.canvas.getContext("2d");
      ctx.save();
      ctx.globalCompositeOperation = this.erase ? "destination-out" : "source-over";
      ctx.strokeStyle = ctx.fillStyle = this.host.colour(mask.label);
      ctx.lineWidth = 2 * r;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      if (a.x === b.x && a.y === b.y) {
        ctx.arc(a.x, a.y, r, 0, 2 * Math.PI);
        ctx.fill();
      } else {
        ctx.moveTo(a.x, a.y);
        ctx.lineTo(b.x, b.y);
        ctx.stroke();
      }
      ctx.restore();
    }
    this.host.view.refreshMasks();
  }

  showCursor(p) {
    const view = this.host.view;
    if (!p) return;
    if (!this.cursor || !this.cursor.getLayer()) {
      this.cursor = new Konva.Circle({ stroke: "#ffffff", strokeWidth: 1, strokeScaleEnabled: false, dash: [3, 3],
        shadowColor: "#000", shadowBlur: 2 });
      view.overlay.add(this.cursor);
    }
    this.cursor.setAttrs({ x: p.x, y: p.y, radius: this.host.brushSize / 2 });
    view.overlay.batchDraw();
  }

  key() {
    return false;
  }

  cancel() {
    if (this.active) this.up();
    this.cursor = null;
    this.host.view.overlay.destroyChildren();
    this.host.view.overlay.batchDraw();
  }
}

export function makeTool(name, host) {
  switch (name) {
    case "box": return new BoxTool(host);
    case "rotated": return new RotatedBoxTool(host);
    case "polygon": return new VertexTool(host, "polygon", 3);
    case "polyline": return new VertexTool(host, "polyline", 2);
    case "points": return new VertexTool(host, "points", 1);
    case "brush": return new PaintTool(host, false);
    case "eraser": return new PaintTool(host, true);
    default: return null;
  }
}

// Route the stage's mouse events to the current tool (pointer positions in image pixels, kept on
// the image); a release outside the stage still ends a drag.
export function wireTools(view, getTool, onDone) {
  const pos = (evt) => {
    if (evt) view.stage.setPointersPositions(evt);
    const p = view.pointer();
    return p && { x: clamp(p.x, 0, view.width), y: clamp(p.y, 0, view.height) };
  };
  view.stage.on("mousedown", (e) => {
    const tool = getTool();
    if (!tool || e.evt.button !== 0 || view.spaceDown || view.isPanning) return;
    e.evt.preventDefault();
    tool.down(pos());
  });
  view.stage.on("mousemove", () => {
    const tool = getTool();
    if (tool && !view.isPanning) tool.move(pos());
  });
  window.addEventListener("mouseup", (evt) => {
    const tool = getTool();
    if (tool && tool.active) {
      tool.up(pos(evt));
      if (onDone) onDone();
    }
  });
}
