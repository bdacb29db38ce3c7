// Geometry in image pixels, with keepsight's conventions (src/keepsight/model/geometry.py):
// box [x1, y1, x2, y2]; rotated box [cx, cy, w, h, angle], the angle in degrees clockwise on screen
// from the image +x axis to the box's local +x axis, corner 0 -> corner 1 along local +x (the head of
// a `directed` class); polygon / polyline / points as flat [x0, y0, x1, y1, ...].

export function normaliseAngle(deg) {
  const a = ((deg % 360) + 360) % 360;
  return a >= 360 ? 0 : a;
}

export function rotatedCorners([cx, cy, w, h, angle]) {
  const rad = (angle * Math.PI) / 180;
  const c = Math.cos(rad);
  const s = Math.sin(rad);
  return [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]].map(([x, y]) => [
    cx + x * c - y * s,
    cy + x * s + y * c,
  ]);
}

// The rotated box drawn by three clicks: p0 -> p1 is the first edge (corner 0 -> corner 1, the head
// direction), p2 sets the height on either side of that edge.
export function rotatedFromClicks(p0, p1, p2) {
  const dx = p1.x - p0.x;
  const dy = p1.y - p0.y;
  const w = Math.hypot(dx, dy);
  if (w < 1e-9) return null;
  const ux = dx / w;
  const uy = dy / w;
  // local +y is +x turned 90 degrees clockwise on screen: (ux, uy) -> (-uy, ux)
  const d = p2 ? (p2.x - p0.x) * -uy + (p2.y - p0.y) * ux : 0;
  const cx = (p0.x + p1.x) / 2 + (-uy * d) / 2;
  const cy = (p0.y + p1.y) / 2 + (ux * d) / 2;
  const angle = normaliseAngle((Math.atan2(dy, dx) * 180) / Math.PI);
  return [cx, cy, w, Math.abs(d), angle];
}

export function boxFromCorners(a, b) {
  return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
}

export function pairs(flat) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

export function bounds(kind, geometry) {
  if (kind === "box") return geometry.slice();
  let pts = [];
  if (kind === "rotated_box") pts = rotatedCorners(geometry);
  else if (["polygon", "polyline", "points"].includes(kind)) pts = pairs(geometry);
  if (!pts.length) return null;
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

export function round(v) {
  return Math.round(v * 100) / 100;
}

export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}
