"""Plant the edits the pixel checks look for: annotators' marks and retouching, with their true boxes.

Shared by tests/audit/test_learned_pixels.py and benchmarks/bench_markings.py. Every function takes
a seeded ``np.random.Generator`` and an image (gray HxW or BGR HxWx3 uint8), and returns the edited
copy plus the ground-truth box ``(x1, y1, x2, y2)`` in pixels. Sizes scale with the image, so a
mark on a 200x200 steel crop and on a 2900x1000 ball-screw photo look alike to a person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

Box = tuple[int, int, int, int]
MARK_KINDS = ("circle", "arrow", "box", "text")
RETOUCH_KINDS = ("clone", "healing")

# Pure and near-pure hues (BGR) annotators draw with.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0), "yellow": (0, 255, 255),
    "magenta": (255, 0, 255), "cyan": (255, 255, 0), "orange": (0, 140, 255), "lime": (40, 230, 120),
    "dark-red": (20, 20, 200), "pink": (180, 105, 255),
}
WORDS = ("NG", "crack", "A3", "defect", "#12", "OK?", "pit", "x2", "see", "B7 bad", "scratch")


@dataclass
class Edit:
    kind: str
    box: Box  # where the edit is (for clone-stamp: the pasted target)
    colour: str = ""
    details: dict[str, object] = field(default_factory=dict)


def _unit(image: np.ndarray) -> float:
    """A length unit that scales with the image: 1 px up to a 400-pixel short side, more above."""
    return max(1.0, min(image.shape[:2]) / 400.0)


def _visible_gray(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int]:
    """White or black, whichever a person would see on the pixels under the mark."""
    under = float(np.mean(image[mask > 0])) if np.any(mask) else 128.0
    value = 255 if rng.random() < 0.5 else 0
    if abs(value - under) < 70:
        value = 255 - value
    return (value, value, value)


def draw_mark(image: np.ndarray, kind: str, rng: np.random.Generator, *, colour: str | None = None,
              thickness: int | None = None) -> tuple[np.ndarray, Edit]:
    """Draw one annotator's mark. ``colour`` is a COLOURS name, ``"gray"`` (white or black, whichever
    shows) or None (a random hue). A gray image stays gray for ``"gray"`` and becomes BGR otherwise."""
    h, w = image.shape[:2]
    unit = _unit(image)
    if colour is None:
        colour = str(rng.choice(list(COLOURS)))
    out = image.copy()
    if colour != "gray" and out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    if thickness is None:
        thickness = max(1, round(float(rng.uniform(1.0, 4.0)) * unit))
    line_type = cv2.LINE_AA if rng.random() < 0.5 else cv2.LINE_8
    layer = np.zeros((h, w), np.uint8)  # where the mark goes, to pick a visible gray and report the box
    short = min(h, w)
    if kind == "circle":
        axes = (int(rng.uniform(0.08, 0.25) * short), int(rng.uniform(0.08, 0.25) * short))
        centre = (int(rng.uniform(axes[0], w - axes[0])), int(rng.uniform(axes[1], h - axes[1])))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(layer, centre, axes, angle, 0, 360, 255, thickness, line_type)
    elif kind == "box":
        bw, bh = int(rng.uniform(0.15, 0.5) * short), int(rng.uniform(0.15, 0.5) * short)
        x1, y1 = int(rng.uniform(0, w - bw - 1)), int(rng.uniform(0, h - bh - 1))
        cv2.rectangle(layer, (x1, y1), (x1 + bw, y1 + bh), 255, thickness, line_type)
    elif kind == "arrow":
        length = rng.uniform(0.2, 0.45) * short
        theta = rng.uniform(0, 2 * math.pi)
        dx, dy = length * math.cos(theta), length * math.sin(theta)
        x1 = float(rng.uniform(max(0, -dx), min(w, w - dx)))
        y1 = float(rng.uniform(max(0, -dy), min(h, h - dy)))
        cv2.arrowedLine(layer, (int(x1), int(y1)), (int(x1 + dx), int(y1 + dy)), 255, thickness, line_type,
                        tipLength=float(rng.uniform(0.2, 0.35)))
    elif kind == "text":
        word = str(rng.choice(WORDS))
        font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN]))
        target = rng.uniform(0.06, 0.12) * short  # letter height
        (tw, th), _ = cv2.getTextSize(word, font, 1.0, 1)
        scale = float(target / max(th, 1))
        thickness = max(1, min(thickness, round(target / 6)))
        (tw, th), base = cv2.getTextSize(word, font, scale, thickness)
        if tw >= w - 4:
            scale *= (w - 8) / tw
            (tw, th), base = cv2.getTextSize(word, font, scale, thickness)
        x, y = int(rng.uniform(2, max(3, w - tw - 2))), int(rng.uniform(th + 2, max(th + 3, h - base - 2)))
        cv2.putText(layer, word, (x, y), font, scale, 255, thickness, line_type)
    else:
        raise ValueError(f"unknown mark kind {kind!r}")
    ys, xs = np.nonzero(layer)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    bgr = _visible_gray(image, layer, rng) if colour == "gray" else COLOURS[colour]
    alpha = layer.astype(np.float32) / 255.0
    if out.ndim == 2:
        out = np.clip(out * (1 - alpha) + bgr[0] * alpha + 0.5, 0, 255).astype(np.uint8)
    else:
        paint = np.array(bgr, np.float32)[None, None, :]
        out = np.clip(out * (1 - alpha[..., None]) + paint * alpha[..., None] + 0.5, 0, 255).astype(np.uint8)
    name = colour if colour != "gray" else ("white" if bgr[0] == 255 else "black")
    return out, Edit(kind, box, name, {"thickness": thickness, "antialiased": line_type == cv2.LINE_AA})


def clone_stamp(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Edit]:
    """Copy a patch of the image over another place (hard or feathered edge), as a clone-stamp brush does."""
    h, w = image.shape[:2]
    short = min(h, w)
    size = max(16, int(rng.uniform(0.10, 0.22) * short))
    best: tuple[float, int, int, int, int] = (-1.0, 0, 0, 0, 0)
    for _ in range(40):  # a clone-stamp covers something: keep the pair whose patches differ most
        sx, sy = int(rng.integers(0, w - size)), int(rng.integers(0, h - size))
        tx, ty = int(rng.integers(0, w - size)), int(rng.integers(0, h - size))
        if math.hypot(tx - sx, ty - sy) < 1.2 * size:
            continue
        diff = float(np.mean(cv2.absdiff(image[sy:sy + size, sx:sx + size], image[ty:ty + size, tx:tx + size])))
        best = max(best, (diff, sx, sy, tx, ty))
    _, sx, sy, tx, ty = best
    patch = image[sy:sy + size, sx:sx + size].astype(np.float32)
    target = image[ty:ty + size, tx:tx + size].astype(np.float32)
    alpha = np.zeros((size, size), np.float32)
    feather = rng.random() < 0.5
    if rng.random() < 0.5:
        cv2.circle(alpha, (size // 2, size // 2), size // 2, 1.0, -1)
    else:
        alpha[:] = 1.0
    if feather:
        alpha = cv2.GaussianBlur(alpha, (0, 0), size / 10)
        alpha = np.clip(alpha * 1.3, 0, 1)
    if image.ndim == 3:
        alpha = alpha[..., None]
    out = image.copy()
    out[ty:ty + size, tx:tx + size] = np.clip(patch * alpha + target * (1 - alpha) + 0.5, 0, 255).astype(np.uint8)
    return out, Edit("clone", (tx, ty, tx + size, ty + size), details={
        "source": [sx, sy, sx + size, sy + size], "feathered": feather})


def heal(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Edit]:
    """Paint over a blob with cv2.inpaint (Telea or Navier-Stokes), as a healing brush removes a defect."""
    h, w = image.shape[:2]
    short = min(h, w)
    ax, ay = max(4, int(rng.uniform(0.04, 0.12) * short)), max(4, int(rng.uniform(0.04, 0.12) * short))
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    best: tuple[float, int, int] = (-1.0, 0, 0)
    for _ in range(30):  # a healing brush removes something: keep the spot with the most structure
        x, y = int(rng.integers(ax + 2, w - ax - 2)), int(rng.integers(ay + 2, h - ay - 2))
        best = max(best, (float(np.std(gray[y - ay:y + ay + 1, x - ax:x + ax + 1])), x, y))
    _, cx, cy = best
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (cx, cy), (ax, ay), float(rng.uniform(0, 180)), 0, 360, 255, -1)
    method = cv2.INPAINT_TELEA if rng.random() < 0.5 else cv2.INPAINT_NS
    out = cv2.inpaint(image, mask, 3, method)
    return out, Edit("healing", (cx - ax, cy - ay, cx + ax + 1, cy + ay + 1), details={
        "method": "telea" if method == cv2.INPAINT_TELEA else "navier-stokes"})


def encode(image: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """Save as an annotator's tool would: PNG, or JPEG at quality 85-95."""
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".png", image)
        return buf.tobytes(), "png"
    quality = int(rng.choice([85, 90, 95]))
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes(), f"jpeg{quality}"


def overlaps(found: Box, truth: Box, *, min_cover: float = 0.3) -> bool:
    """Whether a reported box covers at least ``min_cover`` of the smaller of the two boxes."""
    ix = max(0, min(found[2], truth[2]) - max(found[0], truth[0]))
    iy = max(0, min(found[3], truth[3]) - max(found[1], truth[1]))
    smaller = min((found[2] - found[0]) * (found[3] - found[1]), (truth[2] - truth[0]) * (truth[3] - truth[1]))
    return smaller > 0 and ix * iy >= min_cover * smaller
