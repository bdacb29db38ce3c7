// The REST API as the pages use it: the session cookie (set by POST /auth/login) authenticates,
// and every request that changes something carries the CSRF header the server requires.

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function detailOf(body) {
  if (!body || body.detail === undefined) return null;
  if (typeof body.detail === "string") return body.detail;
  // FastAPI validation errors: a list of {loc, msg}
  return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
}

export function loginUrl() {
  const here = location.pathname + location.search;
  return "/ui/login?next=" + encodeURIComponent(here);
}

export async function api(method, path, { json, body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (!["GET", "HEAD"].includes(method)) init.headers["X-Requested-With"] = "keepsight";
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, null, `the server cannot be reached (${err.message})`);
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("application/json") ? await response.json() : null;
  if (response.status === 401 && path !== "/auth/login") {
    location.assign(loginUrl());
    throw new ApiError(401, data, "signed out");
  }
  if (!response.ok) throw new ApiError(response.status, data, detailOf(data) || `${response.status} ${response.statusText}`);
  return data;
}

// A DOM element from a tag, properties and children: text is always set as text, never as HTML.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  return fill(node, ...children);
}

// Replace a node's children: nested arrays are flattened, null, undefined and false are left out.
export function fill(node, ...children) {
  const nodes = [];
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    nodes.push(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  node.replaceChildren(...nodes);
  return node;
}

export function badge(text, kind = text) {
  return el("span", { class: `badge ${kind}` }, String(text).replace("_", " "));
}

export function swatch(colour) {
  const s = el("span", { class: "swatch" });
  s.style.background = colour || "#888";
  return s;
}

// keepsight's palette (model/labelbook.py): classes without a colour of their own get one by position.
const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
  "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#800000", "#aaffc3", "#808000"];

export function withColours(classes) {
  return classes.map((c, i) => ({ ...c, colour: /^#[0-9a-f]{6}$/i.test(c.colour || "") ? c.colour : PALETTE[i % PALETTE.length] }));
}

export function when(stamp) {
  if (!stamp) return "";
  const d = new Date(stamp);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

const LINKS = [
  ["jobs", "/ui/jobs", "Jobs"],
  ["labelbook", "/ui/labelbook", "Label book"],
];

// The signed-in user (GET /auth/me) and the top bar; sends visitors who are not signed in to the login page.
export async function startPage(active) {
  const me = await api("GET", "/auth/me");
  const bar = document.getElementById("topbar");
  if (bar) {
    const signOut = el("button", {
      class: "small",
      onclick: async () => {
        await api("POST", "/auth/logout").catch(() => null);
        location.assign("/ui/login");
      },
    }, "Sign out");
    fill(bar,
      el("a", { class: "brand", href: "/ui/jobs" }, "keep", el("span", {}, "sight")),
      el("nav", {}, LINKS.map(([key, href, text]) => el("a", { href, class: key === active ? "active" : "" },
        key === "jobs" && me.role === "annotator" ? "My jobs" : text))),
      el("span", { class: "spacer" }),
      el("span", { class: "who" }, el("b", {}, me.user), ` · ${me.role} · ${me.dataset}`),
      signOut,
    );
  }
  return me;
}

export function pathParts() {
  return location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
}
