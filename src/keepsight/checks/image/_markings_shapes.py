"""Score candidate strokes, name their shape, and merge them into the markings one image carries.

The score of a stroke is a product of soft ramps, one per property a drawn mark has and image
content usually lacks, so a stroke must look drawn in *every* respect to score high:

* it is **thin** (a pen, not a region) and **long enough** to be a mark, not noise;
* it **stands out** of the ring of pixels around it (chroma or gray-level contrast);
* its colour is **constant** along it (one hue; or the pen's white or black);
* for gray pens, its edges are **sharp**, it is not a straight single line (grinding streaks and
  scratches are; arrows have heads, text has height, rings and boxes have diameter), it is not a
  cloud of specks, and the pen's value is **rare in the rest of the image**. On images made of
  pure black and white (binarised scans such as PCB images) a white or black stroke is the
  image's own content: gray pens are not looked for there at all (``_markings_strokes.is_binary``).

Shapes are named for the report: a hole filling its bounding box is a ``box``, a rounder hole a
``circle``, several small parts in a row ``text``, anything else a ``line`` (arrows included).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
    score = (shape * _ramp(stroke.contrast, 60.0, 85.0) * _ramp(stroke.constancy, 0.5, 0.8)
             * _ramp(stroke.sharpness, 0.45, 0.65))
    # the pen's value is common in the image: near-white texture, a bright background
    return score * (1.0 - _ramp(stroke.extreme_share, 0.15, 0.3))


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


def find_markings(image: np.ndarray, *, min_score: float = 0.5) -> list[Marking]:
    """The drawn marks on one image (gray HxW or BGR HxWx3 uint8), best first."""
    strokes, scale = find_strokes(image)
    short = round(min(image.shape[:2]) * scale)
    found: list[Marking] = []
    for s in strokes:
        score = stroke_score(s, short)
        if score < min_score:
            continue
        box = tuple(int(round(v / scale)) for v in s.box)
        found.append(Marking(box=box, kind=kind_of(s), colour=colour_name(s), score=round(score, 3), measures={  # type: ignore[arg-type]
            "width": round(s.width / scale, 1), "length": round(s.length / scale, 1), "contrast": round(s.contrast, 1),
            "constancy": round(s.constancy, 3), "sharpness": round(s.sharpness, 3), "parts": s.parts,
        }))
    return _merge(found)
