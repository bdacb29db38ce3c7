"""Words written in white or black onto binarised (PCB-like) images.

A pen's letters are the image's own colours there, and their outlines are too short to be the
long non-Manhattan chains ``_markings_binary`` looks for, so words are found by their letters:

* a **glyph** (:func:`glyphs`) is a connected part of one colour, 2.5-11% of the short side tall,
  0.35-2 times as wide as tall, not touching the border (a part cut by it is no whole letter),
  filling 35-85% of its box (pads and pours fill more, thin traces less), drawn with one pen
  (along its ridge the distance to its edge varies by at most 1.8x and is at most a quarter of
  its height) and with curves or slants: 20%+ of its edge pixels more than 10 degrees away from
  0/45/90 degrees;
* a **word** (:func:`binary_text`) is a row of 2+ glyphs of one colour and pen (heights within
  1.7x, half widths within 1.6x) on one baseline (bottoms within 30% of the height), each
  0-30% of the height from the next; not all alike: a layout repeats pads, vias and the turns of
  a serpentine as near-identical or mirrored copies (16x16 masks overlapping by 80%+).

Letters that touch the layout's own colour merge into it; each colour is therefore also cut into
glyphs after an erosion by 1 px (touching corners come apart) and with its parts wider than 25 px
removed (letters glued to a pour come free).

Measured on benchmarks/bench_markings.py seeds 3-5 (DeepPCB, 10 white or black words per seed,
cv2.putText, 2-6 px pens): words found 8, 7, 4 of 10 (0 of 10 before), no other cell changed, no
new false alarm on 299 untouched DeepPCB scans. On the 1,500 real DeepPCB test scans,
gaps up to 0.8 of the height and glyphs up to 8x as wide as tall flagged 31 scans; gaps up to 0.3
flagged 10 (planted words' widest gaps: 0.04-0.25 of the height but one 0.45), glyphs at most 2x as wide 9, and
mirrored copies counted as alike 6 (concentric pad rings, a serpentine, slanted pads, a field of
chevrons). What is missed: words whose letters all merge with the layout's colour or with
each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHAPE_SIDE = 16  # glyph masks are compared at this size
ALIKE = 0.8  # intersection over union of two glyph masks (or a mirrored one) that makes them copies
HEIGHT = (0.025, 0.11)  # glyph height, share of the short side
WORD_GAP = 0.3  # the most space between two letters of one word, share of the taller one's height
VIEWS = (0, 1, -25)
OFF_ANGLE = 10.0  # an edge more than this many degrees from 0, 45 and 90 is curved or slanted  # per colour: as is, eroded by 1 px, without its parts wider than 25 px


@dataclass
class Glyph:
    """One connected part of one colour that could be a letter (work-image pixels)."""

    source: str  # "white" | "black"
    box: tuple[int, int, int, int]
    stroke: float  # the pen's half width: median distance to the edge along the part's ridge
    holes: int
    shape: np.ndarray  # its mask resized to SHAPE_SIDE x SHAPE_SIDE, to compare glyphs


def _view(mask: np.ndarray, view: int) -> np.ndarray:
    if view > 0:
        return cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=view)
    if view < 0:  # the thin parts only: letters glued to a wide pour come free
        wide = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (-view, -view)))
        return mask & (wide == 0).astype(np.uint8)
    return mask


def glyphs(mask: np.ndarray, source: str, off: np.ndarray) -> list[Glyph]:
    """The letter-like parts of one colour's mask (see the module docstring); ``off``: each pixel's
    gradient angle from the nearest multiple of 45 degrees (``Chains.off`` of ``edge_chains``)."""
    rows, cols = mask.shape
    lo, hi = HEIGHT[0] * min(rows, cols), HEIGHT[1] * min(rows, cols)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    square = np.ones((3, 3), np.uint8)
    out: list[Glyph] = []
    x0, y0, ws, hs, areas = (stats[:, k].astype(np.float64) for k in range(5))
    fills = areas / np.maximum(1.0, ws * hs)
    keep = ((hs >= lo) & (hs <= hi) & (ws >= 0.35 * hs) & (ws <= 2.0 * hs) & (fills >= 0.35) & (fills <= 0.85)
            & (x0 > 0) & (y0 > 0) & (x0 + ws < cols) & (y0 + hs < rows))
    keep[0] = False  # the background
    for i in np.nonzero(keep)[0]:
        x, y, w, h, _ = (int(v) for v in stats[i])
        crop = np.pad((labels[y:y + h, x:x + w] == i).astype(np.uint8), 1)
        dist = cv2.distanceTransform(crop, cv2.DIST_L2, 5)
        ridge = (dist >= cv2.dilate(dist, square)) & (dist >= 1.5)
        if int(ridge.sum()) < 0.5 * h:
            continue
        stroke = float(np.median(dist[ridge]))
        if float(dist.max()) > 1.8 * stroke or 4.0 * stroke > h:
            continue
        edge = ((crop > 0) & (cv2.erode(crop, square) == 0))[1:-1, 1:-1]
        if float((off[y:y + h, x:x + w][edge] > OFF_ANGLE).mean()) < 0.2:
            continue
        _, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        holes = 0 if hierarchy is None else int((hierarchy[0][:, 3] >= 0).sum())
        shape = cv2.resize(crop[1:-1, 1:-1] * 255, (SHAPE_SIDE, SHAPE_SIDE), interpolation=cv2.INTER_AREA) >= 128
        out.append(Glyph(source, (x, y, x + w, y + h), stroke, holes, shape))
    return out


def _alike(a: Glyph, b: Glyph) -> bool:
    """Near-identical copies (a layout's repeated pads or vias), not two different letters."""
    wa, ha = a.box[2] - a.box[0], a.box[3] - a.box[1]
    wb, hb = b.box[2] - b.box[0], b.box[3] - b.box[1]
    if abs(wa - wb) > 0.15 * max(wa, wb) or abs(ha - hb) > 0.15 * max(ha, hb) or a.holes != b.holes:
        return False
    # a layout repeats features mirrored too (a serpentine's turns, pads facing each other)
    iou = max(float((a.shape & f).sum()) / max(1.0, float((a.shape | f).sum()))
              for f in (b.shape, b.shape[::-1], b.shape[:, ::-1], b.shape[::-1, ::-1]))
    return iou >= ALIKE


def _neighbours(a: Glyph, b: Glyph) -> bool:
    """Next letters of one word: similar height and pen, one baseline, a small gap apart."""
    ha, hb = a.box[3] - a.box[1], b.box[3] - b.box[1]
    tall = max(ha, hb)
    if tall > 1.7 * min(ha, hb) or max(a.stroke, b.stroke) > 1.6 * min(a.stroke, b.stroke):
        return False
    overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    if overlap < 0.6 * min(ha, hb) or abs(a.box[3] - b.box[3]) > 0.3 * tall:
        return False
    gap = max(a.box[0], b.box[0]) - min(a.box[2], b.box[2])
    return 0 <= gap <= WORD_GAP * tall


def _words(found: list[Glyph]) -> list[tuple[tuple[int, int, int, int], int]]:
    """Rows of 2+ neighbouring glyphs, not all alike: (box, letters)."""
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            if _neighbours(a, found[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[Glyph]] = {}
    for i, g in enumerate(found):
        groups.setdefault(root(i), []).append(g)
    out = []
    for letters in groups.values():
        if len(letters) < 2 or all(_alike(letters[0], g) for g in letters[1:]):
            continue
        box = (min(g.box[0] for g in letters), min(g.box[1] for g in letters),
               max(g.box[2] for g in letters), max(g.box[3] for g in letters))
        out.append((box, len(letters)))
    return out


def binary_text(gray: np.ndarray, off: np.ndarray) -> list[tuple[tuple[int, int, int, int], str, int]]:
    """Words written in white or black on a binarised image (see the module docstring), each
    colour looked at in every one of ``VIEWS``; one per place: (box, "white" | "black", letters).
    ``off``: the edges' angles from the layout's directions, as :func:`edge_chains` measured them."""
    found: list[tuple[tuple[int, int, int, int], str, int]] = []
    for source, mask in (("black", gray < 128), ("white", gray >= 128)):
        colour = mask.astype(np.uint8)
        for view in VIEWS:
            for box, letters in _words(glyphs(_view(colour, view), source, off)):
                for k, (kept, s, n) in enumerate(found):  # the same word seen in another view
                    if s == source and box[0] < kept[2] and kept[0] < box[2] and box[1] < kept[3] and kept[1] < box[3]:
                        found[k] = ((min(box[0], kept[0]), min(box[1], kept[1]), max(box[2], kept[2]),
                                     max(box[3], kept[3])), s, max(n, letters))
                        break
                else:
                    found.append((box, source, letters))
    return found
