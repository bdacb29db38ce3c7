// The review page: look at each image of a submitted job, accept it or reject it with a comment,
// then decide the job (accepting it accepts every image not reviewed yet; a job with a rejected
// image goes back to its annotator).
import { api, badge, el, fill, pathParts, startPage, swatch, withColours } from "./api.js";
import { rleToCanvas } from "./annotate/rle.js";
import { hexToRgb, View } from "./annotate/view.js";

const $ = (id) => document.getElementById(id);

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`the image ${url} could not be loaded`));
    image.src = url;
  });
}

class ReviewPage {
  constructor(me, job, book) {
    this.me = me;
    this.job = job;
    this.classes = Object.fromEntries(withColours(book.classes).map((c) => [c.name, c]));
    this.view = new View($("stage"));
    this.index = -1;
    this.items = [];
    this.findings = [];
    this.selected = null;
    this.view.addEventListener("select", (e) => {
      this.selected = e.detail;
      this.render();
    });
    this.wire();
  }

  get item() {
    return this.job.items[this.index];
  }

  colour(label) {
    return (this.classes[label] && this.classes[label].colour) || "#ff00ff";
  }

  async reloadJob() {
    this.job = await api("GET", `/jobs/${this.job.id}`);
  }

  async open(index) {
    if (index < 0 || index >= this.job.items.length) return;
    const item = this.job.items[index];
    const base = `/jobs/${this.job.id}/items/${item.id}`;
    const [set, image, findings] = await Promise.all([api("GET", `${base}/annotations`), loadImage(`${base}/image`),
      api("GET", `${base}/findings`).catch(() => ({ findings: [] }))]);
    this.index = index;
    this.selected = null;
    this.items = set.annotations.map((a) => {
      if (a.kind !== "mask") return a;
      const [canvas, area] = rleToCanvas(a.geometry, hexToRgb(this.colour(a.label)));
      return { ...a, canvas, area };
    });
    this.findings = findings.findings || [];
    this.view.setImage(image);
    $("comment").value = "";
    $("item-error").classList.add("hidden");
    const url = new URL(location.href);
    url.searchParams.set("item", item.id);
    history.replaceState(null, "", url);
    this.render();
  }

  render() {
    const job = this.job;
    const item = this.item;
    $("job-title").textContent = `Review job #${job.id}`;
    const state = $("job-state");
    state.className = `badge ${job.state}`;
    state.textContent = job.state.replace("_", " ");
    $("job-meta").textContent = `by ${job.assignee || "nobody"} · ${job.items.length} images`;
    $("image-path").textContent = item ? item.path : "";
    const reviewing = job.state === "submitted";
    const edit = $("edit-link");
    edit.href = `/ui/jobs/${job.id}/annotate?item=${item ? item.id : ""}`;
    edit.classList.toggle("hidden", !reviewing || !item || item.review === "accepted" || item.role === "gold");
    this.view.render({ items: this.items, selected: this.selected, classes: this.classes, findings: this.findings,
      path: item ? item.path : "", editable: false, tool: "select" });

    const review = $("item-review");
    review.className = `badge ${item.review}`;
    review.textContent = item.review;
    $("item-position").textContent = `image ${this.index + 1} of ${job.items.length}` +
      (item.role && item.role !== "normal" ? ` · ${item.role}` : "") +
      (item.gold_score !== null && item.gold_score !== undefined ? ` · gold F1 ${item.gold_score.toFixed(2)}` : "");
    $("item-comment").textContent = item.review_comment ? `Comment: ${item.review_comment}` : "";
    const canReview = reviewing && item.role !== "gold" && item.review !== "accepted";
    $("item-actions").classList.toggle("hidden", !canReview);

    const tags = this.items.filter((a) => a.kind === "tag");
    fill($("tags"), ...(tags.length ? tags.map((a) => el("span", { class: "chip", dataset: { tag: a.label } },
      swatch(this.colour(a.label)), " ", a.label)) : [el("span", { class: "muted small" }, "none")]));
    const regions = this.items.filter((a) => a.kind !== "tag");
    $("region-count").textContent = `(${regions.length})`;
    fill($("regions"), ...regions.map((a) => {
      const attrs = Object.entries(a.attributes || {}).map(([k, v]) => `${k}=${v}`).join(" ");
      return el("li", { class: a.uid === this.selected ? "on" : "", dataset: { uid: a.uid, kind: a.kind },
        onclick: () => { this.selected = a.uid; this.render(); } },
      swatch(this.colour(a.label)), a.label, attrs ? el("span", { class: "small muted" }, attrs) : null,
      el("span", { class: "kind" }, a.kind === "mask" ? `mask ${a.area} px` : a.kind.replace("_", " ")));
    }));
    $("finding-count").textContent = `(${this.findings.length})`;
    fill($("findings"), ...(this.findings.length ? this.findings.map((f) => el("li", {},
      el("div", { class: "row" }, badge(f.severity || "info", f.severity || "info"), el("span", { class: "check" }, f.check)),
      f.message ? el("div", {}, f.message) : null)) : [el("li", { class: "muted" }, "Nothing found on this image.")]));

    const counts = {};
    for (const i of job.items) counts[i.review] = (counts[i.review] || 0) + 1;
    $("job-summary").textContent = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(" · ") +
      (job.comment ? ` — last comment: ${job.comment}` : "");
    $("accept-job").disabled = !reviewing || Boolean(counts.rejected);
    $("reject-job").disabled = !reviewing;
    fill($("strip"), ...job.items.map((i, n) => el("button", {
      class: n === this.index ? "on" : "", dataset: { item: i.id, review: i.review },
      onclick: () => this.open(n) }, el("span", { class: "small" }, `${n + 1}. ${i.path}`), badge(i.review))));
  }

  async reviewItem(verdict, resolve = null) {
    const comment = $("comment").value.trim();
    const error = $("item-error");
    error.classList.add("hidden");
    if (verdict === "reject" && !comment) {
      error.textContent = "Say what is wrong: a rejection needs a comment.";
      error.classList.remove("hidden");
      $("comment").focus();
      return;
    }
    try {
      await api("POST", `/jobs/${this.job.id}/items/${this.item.id}/review`,
        { json: { verdict, comment: comment || null, ...(resolve ? { resolve } : {}) } });
    } catch (err) {
      if (err.status === 409 && verdict === "accept" && !resolve && /resolve=/.test(err.message)) {
        this.askResolve(err.message, (side) => this.reviewItem("accept", side));
        return;
      }
      error.textContent = err.message;
      error.classList.remove("hidden");
      return;
    }
    await this.reloadJob();
    const next = this.job.items.findIndex((i, n) => n > this.index && i.review === "pending" && i.role !== "gold");
    if (next >= 0) await this.open(next);
    else this.render();
  }

  async reviewJob(decision, resolve = null) {
    const comment = $("job-comment").value.trim();
    const error = $("job-error");
    error.classList.add("hidden");
    if (decision === "reject" && !comment) {
      error.textContent = "Tell the annotator what to fix: rejecting the job needs a comment.";
      error.classList.remove("hidden");
      $("job-comment").focus();
      return;
    }
    try {
      await api("POST", `/jobs/${this.job.id}/review`, { json: { decision, comment: comment || null,
        ...(resolve ? { resolve } : {}) } });
    } catch (err) {
      if (err.status === 409 && decision === "accept" && !resolve && /resolve=/.test(err.message)) {
        this.askResolve(err.message, (side) => this.reviewJob("accept", side));
        return;
      }
      error.textContent = err.message;
      error.classList.remove("hidden");
      return;
    }
    await this.reloadJob();
    this.render();
  }

  askResolve(text, then) {
    const dialog = $("resolve-dialog");
    $("resolve-text").textContent = text;
    $("resolve-cancel").onclick = () => dialog.close();
    $("resolve-ours").onclick = () => { dialog.close(); then("ours"); };
    $("resolve-theirs").onclick = () => { dialog.close(); then("theirs"); };
    dialog.showModal();
  }

  wire() {
    $("accept-item").onclick = () => this.reviewItem("accept");
    $("reject-item").onclick = () => this.reviewItem("reject");
    $("accept-job").onclick = () => this.reviewJob("accept");
    $("reject-job").onclick = () => this.reviewJob("reject");
    $("zoom-in").onclick = () => this.view.zoomAt(1.25);
    $("zoom-out").onclick = () => this.view.zoomAt(0.8);
    $("zoom-fit").onclick = () => this.view.fit();
    document.addEventListener("keydown", (e) => {
      const t = e.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || document.querySelector("dialog[open]")) return;
      if (e.key === "ArrowRight") this.open(this.index + 1);
      else if (e.key === "ArrowLeft") this.open(this.index - 1);
      else if (e.key === "+" || e.key === "=") this.view.zoomAt(1.25);
      else if (e.key === "-") this.view.zoomAt(0.8);
      else if (e.key === "f") this.view.fit();
      else return;
      e.preventDefault();
    });
  }
}

async function main() {
  const me = await startPage("jobs");
  const jobId = Number(pathParts()[2]);
  const [job, book] = await Promise.all([api("GET", `/jobs/${jobId}`), api("GET", "/labelbook")]);
  document.title = `Review job #${job.id} · keepsight`;
  const page = new ReviewPage(me, job, book);
  if (!job.items.length) return;
  const wanted = Number(new URLSearchParams(location.search).get("item"));
  let index = job.items.findIndex((i) => i.id === wanted);
  if (index < 0) index = Math.max(0, job.items.findIndex((i) => i.review === "pending"));
  await page.open(index);
}

main();
