"""Candidate strokes of annotators' marks: pixels of one pure colour, thin, sharp-edged, unlike the image.

Two kinds of candidate masks, measured the same way afterwards:

* **hue strokes**: pixels of high chroma (max - min channel) and saturation, far more colourful than
  the image's own content (the threshold adapts to the image's 99th chroma percentile);
* **gray strokes**: near-white (near-black) pixels standing out of their neighbourhood by a
  morphological top-hat (black-hat) wider than any pen, i.e. thin bright (dark) lines.

Each connected group of candidate pixels (grown by a few pixels so the letters of a word or the
head of an arrow stay with their shaft) becomes a :class:`Stroke` with the shape measures that
``_markings_shapes`` scores: width (2 area / perimeter), length (perimeter / 2), contrast to the
ring around it, how constant its colour is, how sharp its edges are and the holes it encloses.
Everything runs on a work copy whose long side is at most ``WORK_SIDE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from keepsight.checks.image._markings_binary import (
    Curve,
    binary_arrow_tips,
    binary_boxes,
    binary_curves,
    binary_rings,
    edge_chains,
    ellipse_kernel,
)
from keepsight.checks.image._markings_text import binary_text

WORK_SIDE = 1024
GRAY_SPREAD = 10  # channels differing by at most this (99.9th percentile) = a gray image stored as colour


@dataclass
class Stroke:
    """A group of candidate pixels, in work-image pixels (``scale`` = work / original)."""

    source: str  # "hue" | "white" | "black"
    box: tuple[int, int, int, int]
    area: int
    width: float  # mean stroke width, 2 * area / perimeter
    length: float  # perimeter / 2: the length of a thin stroke
    contrast: float  # stroke value minus the ring around it (chroma for hue strokes, gray level otherwise)
    constancy: float  # fraction of the stroke's core at the pen's value (hue within 10 degrees, gray at the extreme)
    sharpness: float  # 1 = the value drops to the background within one pixel, 0 = a soft edge
    holes: int  # enclosed holes big enough to be a drawn ring or box
    hole_fill: float  # largest hole's area / its bounding-box area (1 for a box, ~0.785 for a circle)
    parts: int  # connected components in the group (letters of a word)
    spread: float  # short side of the group's minimum-area rectangle: ~ the width for a straight line,
    # the head for an arrow, the height for text, the diameter for a circle
    hue: float = -1.0  # OpenCV hue 0..180 of a hue stroke
    extreme_share: float = 0.0  # share of the image at the stroke's extreme value outside the stroke
    extra: dict[str, float] = field(default_factory=dict)


def to_work(image: np.ndarray, work_side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, work_side / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return image, scale


def is_binary(gray: np.ndarray) -> bool:
    """Black-and-white content (binarised scans such as PCB images): near-pure dark and bright pixels
    make up 90% of the image, both present. White or black pens are this content itself."""
    dark, bright = float(np.mean(gray <= 30)), float(np.mean(gray >= 225))
    return dark >= 0.01 and bright >= 0.01 and dark + bright >= 0.9


def is_gray(image: np.ndarray) -> bool:
    if image.ndim == 2:
        return True
    b, g, r = (image[..., i].astype(np.int16) for i in range(3))
    spread = np.maximum(np.abs(b - g), np.abs(g - r))
    return float(np.percentile(spread, 99.9)) <= GRAY_SPREAD


def hue_candidates(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask of pure-colour pixels, chroma, hue). Pure pens have chroma near 255; JPEG's chroma
    subsampling halves that on 1-pixel lines, so the floor is low. It rises with the image's own
    colour (95th percentile: marks cover less than 5% of an image) up to a cap a pen always reaches."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    chroma = (bgr.max(axis=2).astype(np.int16) - bgr.min(axis=2).astype(np.int16)).astype(np.uint8)
    floor = min(110.0, max(60.0, float(np.percentile(chroma, 95)) + 30.0))
    mask = (chroma >= floor) & (hsv[..., 1] >= 100)
    return mask.astype(np.uint8), chroma, hsv[..., 0]


def gray_candidates(gray: np.ndarray, pen: int) -> tuple[np.ndarray, np.ndarray]:
    """(white mask, black mask): near-extreme pixels on thin structures (top-hat wider than ``pen``)."""
    kernel = ellipse_kernel(2 * pen + 1)
    white = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel)
    black = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    return ((white >= 60) & (gray >= 200)).astype(np.uint8), ((black >= 60) & (gray <= 55)).astype(np.uint8)


def _ring(mask: np.ndarray, inner: int, outer: int) -> np.ndarray:
    grown = cv2.dilate(mask, ellipse_kernel(2 * outer + 1))
    core = cv2.dilate(mask, ellipse_kernel(2 * inner + 1)) if inner > 0 else mask
    return (grown > 0) & (core == 0)


def group_strokes(mask: np.ndarray, *, join: int, min_pixels: int) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Connected groups of candidate pixels, joined across ``join`` pixels; each with its mask crop offset."""
    if not mask.any():
        return []
    joined = cv2.dilate(mask, ellipse_kernel(2 * join + 1)) if join > 0 else mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        crop = ((labels[y:y + h, x:x + w] == i) & (mask[y:y + h, x:x + w] > 0)).astype(np.uint8)
        if int(crop.sum()) >= min_pixels:
            out.append((crop, (int(x), int(y), int(x + w), int(y + h))))
    return out


def measure(crop: np.ndarray, box: tuple[int, int, int, int], values: np.ndarray, *, source: str,
            pen_value: float | None, hue: np.ndarray | None) -> Stroke:
    """Shape and colour measures of one group. ``values`` is the full channel the stroke lives in
    (chroma or gray); ``pen_value`` the extreme a gray pen has (255 or 0)."""
    x1, y1, x2, y2 = box
    pad = 6
    h, w = values.shape
    px1, py1, px2, py2 = max(0, x1 - pad), max(0, y1 - pad), min(w, x2 + pad), min(h, y2 + pad)
    local = np.zeros((py2 - py1, px2 - px1), np.uint8)
    local[y1 - py1:y2 - py1, x1 - px1:x2 - px1] = crop
    vals = values[py1:py2, px1:px2].astype(np.float32)
    on = local > 0
    area = int(on.sum())
    contours, hierarchy = cv2.findContours(local, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours) or 1.0
    holes, hole_fill = 0, 0.0
    if hierarchy is not None:
        for c, hier in zip(contours, hierarchy[0], strict=True):
            if hier[3] < 0:  # an outer contour; holes have a parent
                continue
            hole_area = cv2.contourArea(c)
            bx, by, bw, bh = cv2.boundingRect(c)
            if hole_area >= 40.0 and bw >= 6 and bh >= 6:
                holes += 1
                hole_fill = max(hole_fill, hole_area / float(bw * bh))
    parts = len([1 for hier in (hierarchy[0] if hierarchy is not None else []) if hier[3] < 0])
    near, far = _ring(local, 0, 1), _ring(local, 2, 4)
    stroke_v = float(vals[on].mean())
    far_v = float(vals[far].mean()) if far.any() else stroke_v
    near_v = float(vals[near].mean()) if near.any() else far_v
    contrast = stroke_v - far_v
    sharpness = 1.0 - (near_v - far_v) / contrast if abs(contrast) > 1e-6 else 0.0
    dist = cv2.distanceTransform(local, cv2.DIST_L2, 3)
    core = dist >= 1.5
    if core.sum() < max(3, area // 4):
        core = on
    if pen_value is not None or hue is None:
        constancy = float(np.mean(np.abs(vals[core] - (pen_value or 0.0)) <= 25))
    else:
        hues = hue[py1:py2, px1:px2][core].astype(np.float32) * 2.0 * np.pi / 180.0
        mean_angle = np.arctan2(np.sin(hues).mean(), np.cos(hues).mean())
        off = np.abs(np.angle(np.exp(1j * (hues - mean_angle)))) * 180.0 / np.pi
        constancy = float(np.mean(off <= 20.0))  # 20 degrees of the 360-degree hue circle
    ys, xs = np.nonzero(local)
    (_, _), (rw, rh), _ = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
    return Stroke(
        source=source, box=box, area=area, width=2.0 * area / perimeter, length=perimeter / 2.0,
        contrast=abs(contrast), constancy=constancy, sharpness=float(np.clip(sharpness, 0.0, 1.0)),
        holes=holes, hole_fill=hole_fill, parts=parts, spread=float(min(rw, rh)) + 1.0,
    )


def find_strokes(image: np.ndarray, *, pen: int = 7, join: int = 4, min_pixels: int = 12
                 ) -> tuple[list[Stroke], float, list[Curve]]:
    """Every candidate stroke group of a BGR or gray image; returns (strokes, work scale, curves):
    on binarised images white or black pens are looked for by ``_markings_binary`` instead."""
    work, scale = to_work(image)
    gray = work if work.ndim == 2 else cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)
    strokes: list[Stroke] = []
    if work.ndim == 3:  # also on gray content stored as colour: a coloured pen is what shows there
        mask, chroma, hue = hue_candidates(work)
        for crop, box in group_strokes(mask, join=join, min_pixels=min_pixels):
            s = measure(crop, box, chroma, source="hue", pen_value=None, hue=hue)
            x1, y1, x2, y2 = box
            hues = hue[y1:y2, x1:x2][crop > 0]
            s.hue = float(np.median(hues))
            strokes.append(s)
    if is_binary(gray):
        chains = edge_chains(gray)
        boxes = [Curve(source, box, 0.0, 0.0, 0, corners) for box, source, corners in binary_boxes(chains)]
        found = binary_curves(chains) + binary_rings(chains, gray.shape) + binary_arrow_tips(chains)
        words = [Curve(source, box, 0.0, 0.0, 0, letters=letters) for box, source, letters in binary_text(gray, chains.off)]
        return strokes, scale, found + boxes + words
    white, black = gray_candidates(gray, pen)
    for source, mask, value in (("white", white, 255.0), ("black", black, 0.0)):
        extreme = (gray >= 235) if value else (gray <= 20)
        # gray pens are not joined across gaps: near-white texture would join the mark and dilute it
        for crop, box in group_strokes(mask, join=1, min_pixels=min_pixels):
            s = measure(crop, box, gray, source=source, pen_value=value, hue=None)
            x1, y1, x2, y2 = box
            outside = int(extreme.sum()) - int((extreme[y1:y2, x1:x2] & (crop > 0)).sum())
            s.extreme_share = outside / float(extreme.size)
            strokes.append(s)
    return strokes, scale, []
