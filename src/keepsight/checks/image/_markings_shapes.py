"""Score candidate strokes, name their shape, and merge them into the markings one image carries.

The score of a stroke is a product of soft ramps, one per property a drawn mark has and image
content usually lacks, so a stroke must look drawn in *every* respect to score high:

* it is **thin** (a pen, not a region) and **long enough** to be a mark, not noise;
* it **stands out** of the ring of pixels around it (chroma or gray-level contrast);
* its colour is **constant** along it (one hue; or the pen's white or black);
* for gray pens, its edges are **sharp**, it is not a straight single line (grinding streaks and
  scratches are; arrows have heads, text has height, rings and boxes have diameter), it is not a
  cloud of specks, the pen's value is **rare in the rest of the image**, and it neither runs
  across the whole image nor hugs a border (streaks and tile edges do; marks are drawn inside).
  On images made of pure black and white (binarised scans such as PCB images) a white or black
  stroke is the image's own content; there a gray pen is found only where it breaks the layout's
  Manhattan geometry: long chains of edges away from 0, 45 and 90 degrees along thin strokes
  (``_markings_binary``: drawn rings, arrows at an angle, rectangles), or as rows of differing
  letter-like parts (``_markings_text``: words).

Shapes are named for the report: a hole filling its bounding box is a ``box``, a rounder hole a
``circle``, several small parts in a row ``text``, anything else a ``line`` (arrows included).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keepsight.checks.image._markings_binary import Curve
from keepsight.checks.image._markings_strokes import Stroke, find_strokes

HUE_NAMES = ((10, "red"), (22, "orange"), (35, "yellow"), (80, "green"), (100, "cyan"), (130, "blue"),
             (165, "magenta"), (181, "red"))


@dataclass
class Marking:
    """One drawn mark, in original-image pixels."""

    box: tuple[int, int, int, int]
    kind: str  # circle | box | line | text
    colour: str
    score: float
    measures: dict[str, float] = field(default_factory=dict)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def colour_name(stroke: Stroke) -> str:
    if stroke.source != "hue":
        return stroke.source
    return next(name for bound, name in HUE_NAMES if stroke.hue < bound)


def kind_of(stroke: Stroke) -> str:
    if stroke.holes and stroke.hole_fill >= 0.88:
        return "box"
    if stroke.holes and stroke.hole_fill >= 0.55:
        return "circle"
    if stroke.parts >= 2:
        return "text"
    return "line"


def stroke_score(stroke: Stroke, short_side: int) -> float:
    """How much a stroke looks drawn, in [0, 1] (short_side: of the work image)."""
    min_length = max(12.0, 0.06 * short_side)
    max_width = max(5.0, 0.03 * short_side)
    shape = _ramp(stroke.length, 0.6 * min_length, min_length) * (1.0 - _ramp(stroke.width, max_width, 1.6 * max_width))
    if stroke.source == "hue":
        return shape * _ramp(stroke.contrast, 40.0, 70.0) * _ramp(stroke.constancy, 0.4, 0.7)
    # gray pens: natural thin bright or dark structures (grinding streaks, speckle) are straight
    # single lines (no spread beyond their width) or clusters of many tiny parts
    shape *= _ramp(stroke.spread, 5.0, 9.0) * _ramp(stroke.length / max(1, stroke.parts), 8.0, 14.0)
    # a 1-px pen saved as JPEG keeps its extreme value on only 40-60% of its pixels
    score = (shape * _ramp(stroke.contrast, 60.0, 85.0) * _ramp(stroke.constancy, 0.4, 0.75)
             * _ramp(stroke.sharpness, 0.45, 0.65))
    # the pen's value is common in the image: near-white texture, a bright background
    return score * (1.0 - _ramp(stroke.extreme_share, 0.15, 0.3))


def curve_score(curve: Curve, short_side: int) -> float:
    """How much a group of non-Manhattan chains on a binarised image looks drawn, in [0, 1]: one long
    chain (an arrow's shaft, a ring's flat arc) or many (a ring). On 100 untouched DeepPCB scans
    (640 px, seed 3) the longest chain was at most 33 px and a group's total at most 59 px; on
    another 300 (seed 19) single chains of real content (component leads, silkscreen letters, a
    scratch) reached 51-72 px, and groups of 80-180 px in all (pad outlines, lettering, a fiducial
    ring) spanned at most 94 px. Many chains count only over a group spanning 15% of the short
    side (a drawn ring's diameter is at least 16%). A drawn rectangle scores by its corners
    found: 3 of 4 give 0.75, a bracket (2) 0.5. A ring of chains on one ellipse (``cover`` > 0)
    scores by the ellipse's angular bins its chains cover (6 of 16 give 0.5) and their total length
    (85 px at a 640 px short side give 0.5); on 400 untouched DeepPCB scans the best ellipses
    covered at most 5 bins, but for a real fiducial ring (which the chain groups flag too). An
    arrow's tip scores 0.75. A word (``_markings_text``) scores 0.6 for 2 letters, 0.1 more per
    further letter."""
    if curve.letters:
        return min(1.0, 0.4 + 0.1 * curve.letters)
    if curve.corners:
        return curve.corners / 4.0
    if curve.tip:
        return 0.75
    unit = short_side / 640.0
    if curve.cover:
        return min(_ramp(curve.cover, 5.0, 7.0), _ramp(curve.total, 70.0 * unit, 100.0 * unit))
    ring = max(curve.box[2] - curve.box[0], curve.box[3] - curve.box[1]) >= 0.15 * short_side
    return max(_ramp(curve.longest, 52.0 * unit, 64.0 * unit), ring * _ramp(curve.total, 60.0 * unit, 90.0 * unit))


def _merge(markings: list[Marking]) -> list[Marking]:
    """One marking per place: boxes that overlap (a yellow pen is also near-white) become one."""
    out: list[Marking] = []
    for m in sorted(markings, key=lambda m: -m.score):
        for kept in out:
            ix = min(m.box[2], kept.box[2]) - max(m.box[0], kept.box[0])
            iy = min(m.box[3], kept.box[3]) - max(m.box[1], kept.box[1])
            if ix > 0 and iy > 0:
                kept.box = (min(m.box[0], kept.box[0]), min(m.box[1], kept.box[1]),
                            max(m.box[2], kept.box[2]), max(m.box[3], kept.box[3]))
                break
        else:
            out.append(m)
    return out


# A border stroke up to this share of the image deep is the image's own edge. Magnetic-tile crops
# show the tile's dark edge 11-15 % deep along a border (8 % before: 3 of the 7 magnetic-tile false
# alarms of benchmark seeds 3 and 4); at 15 % the benchmark's five seeds lose 1 of 1,400 planted marks.
BORDER_DEPTH = 0.15


def across_factor(box: tuple[int, int, int, int], shape: tuple[int, int]) -> float:
    """1, or 0 for a white or black stroke that is the image's own streak: one running across the
    whole image (a scratch, a grinding line: 90% of its height or width), or one hugging a border
    (a tile's edge: touching it, at most ``BORDER_DEPTH`` of the image deep and twice as long as deep).
    Marks are drawn inside the image."""
    x1, y1, x2, y2 = box
    h, w = shape
    if (y2 - y1) >= 0.9 * h or (x2 - x1) >= 0.9 * w:
        return 0.0
    near = 2
    if (x1 <= near or x2 >= w - near) and (x2 - x1) <= BORDER_DEPTH * w and (y2 - y1) >= 2 * (x2 - x1):
        return 0.0
    if (y1 <= near or y2 >= h - near) and (y2 - y1) <= BORDER_DEPTH * h and (x2 - x1) >= 2 * (y2 - y1):
        return 0.0
    return 1.0


def find_markings(image: np.ndarray, *, min_score: float = 0.5) -> list[Marking]:
    """The drawn marks on one image (gray HxW or BGR HxWx3 uint8), best first."""
    strokes, scale, curves = find_strokes(image)
    short = round(min(image.shape[:2]) * scale)
    found: list[Marking] = []
    for s in strokes:
        score = stroke_score(s, short)
        if s.source != "hue":
            score *= across_factor(s.box, (round(image.shape[0] * scale), round(image.shape[1] * scale)))
        if score < min_score:
            continue
        box = tuple(int(round(v / scale)) for v in s.box)
        found.append(Marking(box=box, kind=kind_of(s), colour=colour_name(s), score=round(score, 3), measures={  # type: ignore[arg-type]
            "width": round(s.width / scale, 1), "length": round(s.length / scale, 1), "contrast": round(s.contrast, 1),
            "constancy": round(s.constancy, 3), "sharpness": round(s.sharpness, 3), "parts": s.parts,
        }))
    for c in curves:
        score = curve_score(c, short)
        if score < min_score:
            continue
        box = tuple(int(round(v / scale)) for v in c.box)
        kind = ("text" if c.letters else "box" if c.corners else "line" if c.tip
                else "circle" if c.cover or c.chains >= 3 else "line")
        found.append(Marking(box=box, kind=kind, colour=c.source,  # type: ignore[arg-type]
                             score=round(score, 3), measures={
            "longest_chain": round(c.longest / scale, 1), "chains_length": round(c.total / scale, 1), "chains": c.chains, "corners": c.corners, "cover": c.cover, "letters": c.letters,
        }))
    return _merge(found)
