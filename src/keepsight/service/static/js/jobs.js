// "My jobs" for annotators (the server lists only theirs); every job, filtered by state, for the others.
import { api, badge, el, fill, startPage, when } from "./api.js";

const STATES = ["new", "in_progress", "submitted", "rejected", "accepted"];
const WORKING = new Set(["new", "in_progress", "rejected"]);

function actions(job, me) {
  const out = [];
  const mine = job.assignee === me.user;
  if (me.role === "annotator" || (["admin", "manager"].includes(me.role) && mine)) {
    const label = job.state === "new" ? "Start" : WORKING.has(job.state) ? "Continue" : "Open";
    out.push(el("a", { class: `button${WORKING.has(job.state) ? " primary" : ""}`, href: `/ui/jobs/${job.id}/annotate`,
      dataset: { action: "annotate", job: job.id } }, label));
  } else {
    out.push(el("a", { class: "button", href: `/ui/jobs/${job.id}/annotate`, dataset: { action: "open", job: job.id } },
      "Open"));
  }
  if (["admin", "manager", "reviewer"].includes(me.role) && job.state === "submitted" && !mine) {
    out.push(el("a", { class: "button primary", href: `/ui/jobs/${job.id}/review`,
      dataset: { action: "review", job: job.id } }, "Review"));
  }
  return el("div", { class: "row" }, out);
}

function reviews(job) {
  const r = job.reviews || {};
  const parts = [];
  for (const key of ["accepted", "rejected", "pending"]) if (r[key]) parts.push(badge(`${r[key]} ${key}`, key));
  return el("div", { class: "row" }, parts);
}

function render(jobs, me, tasks, filter) {
  const shown = filter ? jobs.filter((j) => j.state === filter) : jobs;
  const target = document.getElementById("jobs");
  if (!shown.length) {
    fill(target, el("div", { class: "card empty" },
      me.role === "annotator" ? "No jobs are assigned to you yet." : "No jobs in this state."));
    return;
  }
  const staff = me.role !== "annotator";
  const head = el("tr", {}, ["Job", "Task", "State", "Images", "Review", "Deadline", staff ? "Annotator" : null,
    "Comment", ""].filter((h) => h !== null).map((h) => el("th", {}, h)));
  const rows = shown.map((job) => el("tr", { dataset: { job: job.id, state: job.state } },
    el("td", {}, el("b", {}, `#${job.id}`)),
    el("td", {}, tasks.get(job.task_id) || `task ${job.task_id}`),
    el("td", {}, badge(job.state)),
    el("td", {}, String(job.images)),
    el("td", {}, reviews(job)),
    el("td", { class: job.overdue ? "overdue" : "" }, job.deadline ? when(job.deadline) + (job.overdue ? " · overdue" : "") : "—"),
    staff ? el("td", {}, job.assignee || el("span", { class: "muted" }, "unassigned")) : null,
    el("td", { class: "small" }, job.comment || ""),
    el("td", {}, actions(job, me)),
  ));
  fill(target, el("table", { class: "list" }, el("thead", {}, head), el("tbody", {}, rows)));
}

async function main() {
  const me = await startPage("jobs");
  document.getElementById("heading").textContent = me.role === "annotator" ? "My jobs" : "Jobs";
  const jobs = await api("GET", "/jobs");
  const tasks = new Map();
  if (me.role !== "annotator") {
    for (const t of await api("GET", "/tasks")) tasks.set(t.id, t.name);
  }
  jobs.sort((a, b) => (WORKING.has(b.state) - WORKING.has(a.state)) || a.id - b.id);
  const open = jobs.filter((j) => WORKING.has(j.state)).length;
  document.getElementById("summary").textContent = `${jobs.length} jobs · ${open} to work on`;
  const params = new URLSearchParams(location.search);
  let filter = params.get("state") || "";
  const filters = document.getElementById("filters");
  const drawFilters = () => {
    fill(filters, ...["", ...STATES].map((state) => {
      const count = state ? jobs.filter((j) => j.state === state).length : jobs.length;
      return el("button", {
        class: state === filter ? "on" : "",
        onclick: () => { filter = state; drawFilters(); render(jobs, me, tasks, filter); },
      }, `${state ? state.replace("_", " ") : "all"} (${count})`);
    }));
  };
  drawFilters();
  render(jobs, me, tasks, filter);
}

main();
