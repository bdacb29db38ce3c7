// Autosave with optimistic locking: a debounced PUT of the whole set on top of the revision it was
// loaded or last saved at. A 409 means somebody else saved meanwhile: the page asks whether to reload
// their version or to overwrite it with ours. Masks painted since the last save are first sent as PNGs
// to POST .../masks, which answers the RLE to store (see docs/service_ui.md, "Masks").
import { api } from "../api.js";

const DELAY_MS = 1200;

export function canvasToPng(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the mask could not be encoded"))), "image/png");
  });
}

export class Autosave extends EventTarget {
  constructor({ base, store, isBusy }) {
    super();
    this.base = base; // "/jobs/{job}/items/{item}"
    this.store = store;
    this.isBusy = isBusy;
    this.revision = 0;
    this.savedVersion = store.version;
    this.timer = null;
    this.inflight = null;
    this.again = false;
    this.blocked = false; // a conflict waits for the user's choice
    this.enabled = true;
  }

  get dirty() {
    return this.store.version !== this.savedVersion;
  }

  reset(revision) {
    clearTimeout(this.timer);
    this.revision = revision;
    this.savedVersion = this.store.version;
    this.blocked = false;
    this.status("saved", `Saved · revision ${revision}`);
  }

  status(state, text) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, text } }));
  }

  schedule() {
    if (!this.enabled) return;
    clearTimeout(this.timer);
    if (this.dirty && !this.blocked) this.status("dirty", "Unsaved changes");
    this.timer = setTimeout(() => this.flush(), DELAY_MS);
  }

  // Save now (Ctrl+S, before leaving the image, before submitting); resolves true when nothing is left unsaved.
  async flush() {
    clearTimeout(this.timer);
    if (!this.enabled) return true;
    if (this.inflight) {
      this.again = true;
      await this.inflight;
      return this.flush();
    }
    if (!this.dirty) return true;
    if (this.blocked) return false;
    if (this.isBusy()) { // a stroke or drag is under way: its end schedules the next save
      this.schedule();
      return false;
    }
    this.inflight = this.save().finally(() => {
      this.inflight = null;
    });
    const ok = await this.inflight;
    if (this.again) {
      this.again = false;
      if (this.dirty && !this.blocked) this.schedule();
    }
    return ok && !this.dirty;
  }

  async payload(items) {
    const out = [];
    for (const a of items) {
      if (a.kind === "mask") {
        if (!a.geometry) {
          // The canvas of a mask in the store never changes after its stroke (a stroke paints a copy),
          // so the encoding can be cached on the object.
          const answer = await api("POST", `${this.base}/masks`, { body: await canvasToPng(a.canvas),
            headers: { "Content-Type": "image/png" } });
          a.geometry = { size: answer.size, counts: answer.counts };
          a.area = answer.area;
        }
        if (!a.area) continue; // erased to nothing: not a region any more
      }
      out.push({ uid: a.uid, label: a.label, kind: a.kind, geometry: a.kind === "tag" ? null : a.geometry,
        attributes: a.attributes || {}, revision: a.revision ?? null });
    }
    return out;
  }

  async save() {
    const version = this.store.version;
    const items = this.store.items;
    this.status("saving", "Saving…");
    try {
      const annotations = await this.payload(items);
      const answer = await api("PUT", `${this.base}/annotations`, { json: { base_revision: this.revision, annotations } });
      this.revision = answer.revision;
      this.savedVersion = version;
      this.dispatchEvent(new CustomEvent("saved", { detail: answer }));
      if (this.dirty) this.status("dirty", "Unsaved changes");
      else this.status("saved", `Saved · revision ${this.revision}`);
      return true;
    } catch (err) {
      if (err.status === 409 && err.body && Array.isArray(err.body.annotations)) {
        this.blocked = true;
        this.status("conflict", "Conflict: saved elsewhere");
        this.dispatchEvent(new CustomEvent("conflict", { detail: err.body }));
      } else {
        this.status("failed", `Not saved: ${err.message}`);
      }
      return false;
    }
  }

  // The user chose to keep their version: save it on top of the revision the 409 named.
  async overwrite(revision) {
    this.revision = revision;
    this.blocked = false;
    return this.flush();
  }
}
