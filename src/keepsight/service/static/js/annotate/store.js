// The annotation set of the image on screen, with undo and redo.
//
// Annotations are treated as immutable: an edit replaces objects, never changes them, so an undo
// step is just the previous array. A mask's canvas is the one exception while a stroke paints on it,
// which is why a stroke first replaces the mask with a copy (`beginPaint`).

const UNDO_DEPTH = 100;

export function newUid() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function cloneCanvas(canvas) {
  const copy = document.createElement("canvas");
  copy.width = canvas.width;
  copy.height = canvas.height;
  copy.getContext("2d").drawImage(canvas, 0, 0);
  return copy;
}

export class Store extends EventTarget {
  constructor() {
    super();
    this.items = [];
    this.undoStack = [];
    this.redoStack = [];
    this.version = 0; // raised by every change: the autosave compares it with the version it saved
  }

  changed() {
    this.version += 1;
    this.dispatchEvent(new Event("change"));
  }

  load(items) {
    this.items = items;
    this.undoStack = [];
    this.redoStack = [];
    this.changed();
  }

  checkpoint() {
    this.undoStack.push(this.items);
    if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
    this.redoStack = [];
  }

  get(uid) {
    return this.items.find((a) => a.uid === uid) || null;
  }

  add(annotation) {
    this.checkpoint();
    this.items = [...this.items, annotation];
    this.changed();
    return annotation;
  }

  update(uid, patch) {
    this.checkpoint();
    this.items = this.items.map((a) => (a.uid === uid ? { ...a, ...patch } : a));
    this.changed();
    return this.get(uid);
  }

  remove(uid) {
    if (!this.get(uid)) return;
    this.checkpoint();
    this.items = this.items.filter((a) => a.uid !== uid);
    this.changed();
  }

  // Before a brush or eraser stroke: these masks become fresh copies the stroke may paint on.
  beginPaint(uids) {
    this.checkpoint();
    const set = new Set(uids);
    this.items = this.items.map((a) => (set.has(a.uid) ? { ...a, canvas: cloneCanvas(a.canvas), geometry: null } : a));
    this.changed();
    return this.items.filter((a) => set.has(a.uid));
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.redoStack.push(this.items);
    this.items = this.undoStack.pop();
    this.changed();
    return true;
  }

  redo() {
    if (!this.redoStack.length) return false;
    this.undoStack.push(this.items);
    this.items = this.redoStack.pop();
    this.changed();
    return true;
  }
}
