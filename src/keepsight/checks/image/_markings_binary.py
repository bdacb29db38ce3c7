"""White or black pens on binarised (PCB-like) images, whose own strokes are Manhattan.

A white or black stroke is such an image's own content, so a pen is found where it breaks the
layout's geometry: :func:`edge_chains` (edges away from 0, 45 and 90 degrees along thin strokes),
grouped by place (:func:`binary_curves`: arrows at an angle, rings), lying on one ellipse
(:func:`binary_rings`: rings whose arcs are far apart), thin runs meeting as the corners of a
rectangle (:func:`binary_boxes`) or fanning out of an arrow's tip (:func:`binary_arrow_tips`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import cv2
import numpy as np


@dataclass
class Curve:
    """Long non-Manhattan edge chains along thin strokes of a binarised image, grouped by place."""

    source: str  # "white" | "black": the colour of the thin strokes they run along
    box: tuple[int, int, int, int]  # work-image pixels
    longest: float  # the longest chain (px)
    total: float  # all chains of the group (px)
    chains: int
    corners: int = 0  # for a drawn rectangle (:func:`binary_boxes`): its corners found, 3 or 4
    cover: int = 0  # for a ring (:func:`binary_rings`): angular bins of its ellipse its chains cover
    tip: bool = False  # an arrow's tip (:func:`binary_arrow_tips`)
    letters: int = 0  # for a word (``_markings_text.binary_text``): its letters found, 2 or more


def ellipse_kernel(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _thin(mask: np.ndarray, size: int) -> np.ndarray:
    """The parts of a boolean mask narrower than ``size`` px (what an opening with a disc removes)."""
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, ellipse_kernel(size)) > 0
    return mask & ~opened


@dataclass
class Chains:
    """Edge chains of a binarised image away from 0, 45 and 90 degrees along thin strokes."""

    labels: np.ndarray  # connected chains, 0 = none
    stats: np.ndarray  # cv2 component stats of ``labels``
    lengths: np.ndarray  # per label: the long side of its minimum-area rectangle, 0 = too short
    dark: np.ndarray  # the image's dark pixels
    thin_dark: np.ndarray  # its dark and bright parts narrower than the pen
    thin_bright: np.ndarray
    off: np.ndarray  # per pixel: its gradient's angle from the nearest multiple of 45 degrees (degrees)


def edge_chains(gray: np.ndarray, *, pen: int = 9, tolerance: float = 10.0, min_chain: float = 16.0) -> Chains:
    """A layout's edges run at 0, 45 or 90 degrees; its curves (pads, rounded corners, serpentines)
    have radii of a few pixels, so the edge pixels more than ``tolerance`` degrees away from a
    multiple of 45 form short chains (a bend of radius r spends 0.44 r px inside the 25-degree band
    between two excluded directions). Only edges of thin parts (narrower than ``pen``: a pen, a
    thin trace) count, so the outlines of large pours do not. Chains shorter than ``min_chain``
    get length 0."""
    blur = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.5)
    gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    ang = np.degrees(np.arctan2(gy, gx)) % 45.0
    off = np.minimum(ang, 45.0 - ang)
    dark = gray < 128
    thin_dark, thin_bright = _thin(dark, pen), _thin(~dark, pen)
    near = cv2.dilate((thin_dark | thin_bright).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    chains = ((mag > 0.25 * float(mag.max())) & (off > tolerance) & near).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(chains, connectivity=8)
    lengths = np.zeros(n, np.float32)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        if max(w, h) < 0.7 * min_chain:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        (_, _), (rw, rh), _ = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
        if max(rw, rh) >= min_chain:
            lengths[i] = max(rw, rh)
    return Chains(labels, stats, lengths, dark, thin_dark, thin_bright, off)


def binary_curves(chains: Chains, *, join: int = 20) -> list[Curve]:
    """Pen strokes on a binarised (PCB-like) image, whose own strokes are Manhattan: groups of
    :func:`edge_chains` within ``join`` px. A drawn ring (radius >= 8% of the short side) or an
    arrow at an arbitrary angle gives chains of tens to hundreds of pixels."""
    labels, stats, lengths = chains.labels, chains.stats, chains.lengths
    square = np.ones((5, 5), np.uint8)
    if not lengths.any():
        return []
    long = (lengths[labels] > 0).astype(np.uint8)
    grouped = cv2.dilate(long, ellipse_kernel(2 * join + 1))
    m, glabels, gstats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    near_dark = cv2.dilate(chains.thin_dark.astype(np.uint8), square) > 0
    near_bright = cv2.dilate(chains.thin_bright.astype(np.uint8), square) > 0
    members: dict[int, list[int]] = {}
    for chain in (int(j) for j in np.nonzero(lengths)[0]):
        ys, xs = np.nonzero(labels == chain)
        members.setdefault(int(glabels[ys[0], xs[0]]), []).append(chain)
    out = []
    for g, ids in members.items():
        x, y, w, h, _ = gstats[g]
        on = np.isin(labels[y:y + h, x:x + w], ids)
        tight = stats[ids]  # the chains' own extent, not the joining margin
        box = (int(tight[:, 0].min()), int(tight[:, 1].min()), int((tight[:, 0] + tight[:, 2]).max()),
               int((tight[:, 1] + tight[:, 3]).max()))
        black = int((near_dark[y:y + h, x:x + w] & on).sum()) >= int((near_bright[y:y + h, x:x + w] & on).sum())
        ls = [float(lengths[i]) for i in ids]
        out.append(Curve(source="black" if black else "white", box=box,
                         longest=max(ls), total=sum(ls), chains=len(ls)))
    return out


def binary_boxes(chains: Chains, *, run: int = 25, align: float = 4.0,
                 min_side: float = 0.12) -> list[tuple[tuple[int, int, int, int], str, int]]:
    """Drawn rectangles on a binarised image: three or four right-angle meetings of thin horizontal
    and vertical runs (longer than ``run`` px) at the corners of one rectangle whose sides are at
    least ``min_side`` of the short side (thin: narrower than the pen of :func:`edge_chains`). A layout's thin traces turn by 45-degree chamfers or
    rounded bends and never cross, so they meet at right angles rarely (at most 2 places on each of
    60 untouched DeepPCB scans), and hardly ever as three corners of one rectangle.
    Two corners joined by one straight side, both turning the same way for half a side (a
    bracket: the other two corners hidden where the pen crossed the layout's own colour), count as 2. Returns (box, "white" | "black", corners)."""
    side = min_side * min(chains.dark.shape)
    found: list[tuple[tuple[int, int, int, int], str, int]] = []
    # the thin parts the chains were found along (narrower than their pen)
    for source, thin_mask in (("black", chains.thin_dark), ("white", chains.thin_bright)):
        thin = thin_mask.astype(np.uint8)
        horizontal = cv2.morphologyEx(thin, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
        vertical = cv2.morphologyEx(thin, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
        square = np.ones((5, 5), np.uint8)
        meet = ((cv2.dilate(horizontal, square) > 0) & (cv2.dilate(vertical, square) > 0)).astype(np.uint8)
        n, _, _, centres = cv2.connectedComponentsWithStats(meet, connectivity=8)
        pts = [(float(x), float(y)) for x, y in centres[1:]]
        if len(pts) < 2:
            continue
        best: tuple[int, tuple[int, int, int, int]] | None = None
        row, col = cv2.dilate(horizontal, square) > 0, cv2.dilate(vertical, square) > 0
        for k, (ax, ay) in enumerate(pts):  # two corners joined by one straight run: a side and its ends
            for bx, by in pts[k + 1:]:
                arm = round(side / 2)
                if abs(by - ay) <= align and abs(bx - ax) >= side:
                    y, xs = round((ay + by) / 2), slice(round(min(ax, bx)), round(max(ax, bx)) + 1)
                    ends = [col[max(0, y - arm):y - 4, round(x)] if d < 0 else col[y + 4:y + arm, round(x)]
                            for d in (-1, 1) for x in (ax, bx)]
                    joined = float(row[y, xs].mean())
                elif abs(bx - ax) <= align and abs(by - ay) >= side:
                    x, ys = round((ax + bx) / 2), slice(round(min(ay, by)), round(max(ay, by)) + 1)
                    ends = [row[round(y), max(0, x - arm):x - 4] if d < 0 else row[round(y), x + 4:x + arm]
                            for d in (-1, 1) for y in (ay, by)]
                    joined = float(col[ys, x].mean())
                else:
                    continue
                # both ends turn the same way by half a side: a bracket, not a trace's step
                full = [e.size >= arm - 8 and float(e.mean()) >= 0.95 for e in ends]
                if not ((full[0] and full[1]) or (full[2] and full[3])):
                    continue
                if joined >= 0.95 and best is None:
                    best = (2, (int(min(ax, bx)), int(min(ay, by)), int(max(ax, bx)) + 1, int(max(ay, by)) + 1))
        for ax, ay in pts:  # a corner with one partner along its row and one along its column
            rows = [bx for bx, by in pts if abs(by - ay) <= align and abs(bx - ax) >= side]
            cols = [by for bx, by in pts if abs(bx - ax) <= align and abs(by - ay) >= side]
            for bx in rows:
                for by in cols:
                    fourth = any(abs(cx - bx) <= align and abs(cy - by) <= align for cx, cy in pts)
                    corners = 4 if fourth else 3
                    box = (int(min(ax, bx)), int(min(ay, by)), int(max(ax, bx)) + 1, int(max(ay, by)) + 1)
                    if best is None or corners > best[0]:
                        best = (corners, box)
        if best is not None:
            found.append((best[1], source, best[0]))
    return found


BINS = 16  # angular bins around the ellipse for its coverage


def _ellipse_distance(points: np.ndarray, ellipse: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(approximate distance in px to the ellipse, parametric angle) of every point."""
    (cx, cy), (width, height), angle = ellipse
    a, b = width / 2.0, height / 2.0
    t = np.radians(angle)
    dx, dy = points[:, 0] - cx, points[:, 1] - cy
    u, v = (dx * np.cos(t) + dy * np.sin(t)) / a, (-dx * np.sin(t) + dy * np.cos(t)) / b
    return np.abs(np.hypot(u, v) - 1.0) * np.sqrt(a * b), np.arctan2(v, u)


def _bounding_box(ellipse: tuple) -> tuple[int, int, int, int]:
    (cx, cy), (width, height), angle = ellipse
    t = np.radians(angle)
    hx = np.hypot(width / 2 * np.cos(t), height / 2 * np.sin(t))
    hy = np.hypot(width / 2 * np.sin(t), height / 2 * np.cos(t))
    return int(cx - hx), int(cy - hy), int(np.ceil(cx + hx)), int(np.ceil(cy + hy))


def binary_rings(chains: Chains, shape: tuple[int, int], *, most: int = 20, tolerance: float = 4.5,
                 on: float = 0.7, axes: tuple[float, float] = (0.07, 0.28), ratio: float = 4.0) -> list[Curve]:
    """Drawn rings whose arcs do not group: a ring across a bus of traces shows only in the gaps
    and only its arcs away from the layout's directions are chains, often far apart, but on one
    ellipse (a layout's own chains, from leads at an angle, lettering or pads, rarely line up so).

    The best ellipse through three of the ``most`` longest chains whose semi-axes are within
    ``axes`` of the short side (and at most ``ratio`` apart): its member chains (``on`` of their
    pixels within ``tolerance`` px of it) and the angular bins (of ``BINS``) they cover, as one
    Curve (``cover`` > 0), or none when no three chains fit one such ellipse."""
    ids = [int(i) for i in np.argsort(-chains.lengths)[:most] if chains.lengths[i] > 0]
    if len(ids) < 3:
        return []
    points, owner = [], []
    for k, i in enumerate(ids):
        x, y, w, h, _ = chains.stats[i]
        ys, xs = np.nonzero(chains.labels[y:y + h, x:x + w] == i)
        points.append(np.stack([xs + x, ys + y], axis=1).astype(np.float32))
        owner.append(np.full(len(xs), k))
    every, whose = np.concatenate(points), np.concatenate(owner)
    sizes = np.bincount(whose, minlength=len(ids))
    short = min(shape)
    best: tuple[int, float, tuple, list[int]] | None = None
    for trio in combinations(range(len(ids)), 3):
        ellipse = cv2.fitEllipse(np.concatenate([points[k] for k in trio]))
        semi = sorted(ellipse[1])
        if not (axes[0] * short <= semi[0] / 2 and semi[1] / 2 <= axes[1] * short and semi[1] <= ratio * semi[0]):
            continue
        distance, angle = _ellipse_distance(every, ellipse)
        share = np.bincount(whose, weights=distance <= tolerance, minlength=len(ids)) / sizes
        if min(share[k] for k in trio) < on:
            continue
        members = [k for k in range(len(ids)) if share[k] >= on]
        mine = np.isin(whose, members)
        cover = len(np.unique(((angle[mine] + np.pi) / (2 * np.pi) * BINS).astype(int) % BINS))
        total = float(sum(chains.lengths[ids[k]] for k in members))
        if best is None or (cover, total) > best[:2]:
            best = (cover, total, ellipse, members)
    if best is None:
        return []
    cover, total, ellipse, members = best
    xs, ys = every[np.isin(whose, members)].astype(int).T
    square = np.ones((5, 5), np.uint8)
    dark = int((cv2.dilate(chains.thin_dark.astype(np.uint8), square)[ys, xs] > 0).sum())
    bright = int((cv2.dilate(chains.thin_bright.astype(np.uint8), square)[ys, xs] > 0).sum())
    x1, y1, x2, y2 = _bounding_box(ellipse)
    box = (max(0, x1), max(0, y1), min(shape[1], x2), min(shape[0], y2))
    return [Curve(source="black" if dark >= bright else "white", box=box,
                  longest=max(float(chains.lengths[ids[k]]) for k in members), total=total,
                  chains=len(members), cover=cover)]


STEPS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))  # (dx, dy), 45 degrees apart


def _line(step: tuple[int, int], n: int, *, both: bool) -> np.ndarray:
    """A kernel of the pixels up to ``n`` steps from its centre along ``step`` (and back if ``both``)."""
    kernel = np.zeros((2 * n + 1, 2 * n + 1), np.uint8)
    for t in range(-n if both else 0, n + 1):
        kernel[n + t * step[1], n + t * step[0]] = 1
    return kernel


def binary_arrow_tips(chains: Chains, *, run: int = 8, arm: int = 14, grow: int = 5,
                      gaps: tuple[int, ...] = (12, 18, 24)) -> list[Curve]:
    """Tips of arrows along 0, 45 or 90 degrees on a binarised image, whose heads (at +-45 degrees
    to the shaft) are Manhattan too and give no chains: a point where straight thin runs (``2 run
    + 1`` px) of one colour start, ``arm`` steps long, in three neighbouring directions 45 degrees
    apart (the head's two sides and the shaft between them), with the other colour between them
    ``gaps`` px out. A layout's thin traces bend, fork and cross but do not fan out three ways from
    one point: no tip on 400 untouched DeepPCB scans."""
    square = np.ones((grow, grow), np.uint8)
    h, w = chains.labels.shape
    found = []
    for source, thin, colour in (("black", chains.thin_dark, chains.dark), ("white", chains.thin_bright, ~chains.dark)):
        mask = thin.astype(np.uint8)
        runs = [cv2.morphologyEx(mask, cv2.MORPH_OPEN, _line(STEPS[o], run, both=True)) for o in range(4)]
        # starts[d]: where a run sets off in direction d (near it, ``grow`` px)
        starts = [cv2.dilate(cv2.erode(cv2.dilate(runs[d % 4], square), _line(STEPS[d], arm, both=False)), square) > 0
                  for d in range(8)]
        for d in range(8):
            fan = starts[(d - 1) % 8] & starts[d] & starts[(d + 1) % 8]
            if not fan.any():
                continue
            _, _, _, centres = cv2.connectedComponentsWithStats(fan.astype(np.uint8), connectivity=8)
            for cx, cy in centres[1:]:
                shaft = np.arctan2(STEPS[d][1], STEPS[d][0])
                between = [(round(cx + r * np.cos(shaft + s)), round(cy + r * np.sin(shaft + s)))
                           for s in (-np.pi / 8, np.pi / 8) for r in gaps]
                if all(0 <= x < w and 0 <= y < h and not colour[y, x] for x, y in between):
                    reach = arm * 1.5
                    box = (max(0, int(cx - reach)), max(0, int(cy - reach)), min(w, int(cx + reach) + 1), min(h, int(cy + reach) + 1))
                    found.append(Curve(source=source, box=box, longest=0.0, total=0.0, chains=0, tip=True))
    return found
