"""Both retouching detectors on one image, scored, in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keepsight.checks.image._markings_strokes import is_binary
from keepsight.checks.image._retouch_clone import find_clones, work_gray
from keepsight.checks.image._retouch_grid import find_flat_squares, find_gridless, find_requantised, find_shading
from keepsight.checks.image._retouch_noise import NOISE_SIDE, SmoothIsland, find_smooth_islands

FAINT = 3.0  # blocks under this std also meet in a coarser hash table (find_clones' ``faint``)
CAPTURE_DIFF = 5.0  # the most a copy's blocks may differ on a capture (not a binarised scan), gray levels


@dataclass
class Retouch:
    kind: str  # "clone" (copy-move); healing, inpainting: "smooth" (a noise-free island), "gridless" (no
    # JPEG grid), "requantised" (no trace of the first JPEG compression), "shaded" (gray on a
    # black-and-white scan); "pasted" (a flat square on a black-and-white scan)
    box: tuple[int, int, int, int]  # the edited region (for a clone: the pasted target)
    score: float
    source: tuple[int, int, int, int] | None = None  # a clone's source region
    measures: dict[str, float] = field(default_factory=dict)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _block_clusters(
    kind: str,
    clusters: list[tuple[tuple[int, int, int, int], int, dict[str, float]]],
    ramp: tuple[float, float],
    min_score: float,
) -> list[Retouch]:
    """Retouch candidates from clusters of 8x8 blocks (box, block count, evidence), scored by their
    size on ``ramp``; those under ``min_score`` are dropped."""
    scored = [(box, _ramp(blocks, *ramp), evidence) for box, blocks, evidence in clusters]
    return [Retouch(kind, box, round(score, 3), None, evidence) for box, score, evidence in scored if score >= min_score]


def _scaled(box: tuple[int, int, int, int], factor: int) -> tuple[int, int, int, int]:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def _chroma(image: np.ndarray) -> np.ndarray | None:
    """max - min channel (None for a gray image, or a gray one stored as BGR)."""
    if image.ndim == 2:
        return None
    b, g, r = cv2.split(image)
    chroma = cv2.absdiff(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r))
    return chroma if cv2.countNonZero(chroma) else None


def _at(chroma: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """``chroma`` at an analysis scale."""
    if chroma is None or chroma.shape == shape:
        return chroma
    return cv2.resize(chroma, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _pen_colour(chroma: np.ndarray | None) -> np.ndarray | None:
    """Pixels far more colourful than the image's content: an annotator's pen (pure and near-pure
    colours: max - min channel 150 and more) on a capture whose colours are muted (BSData's brass
    tints reach about 120, with 90% of pixels under about 65). Strokes of one colour repeat exactly
    (a text's letters, an arrow's two barbs): no copy-move evidence."""
    if chroma is None:
        return None
    return chroma > max(100.0, 2.0 * float(np.percentile(chroma, 90)))


def smooth_score(s: SmoothIsland, *, binary: bool = False, native: bool = True) -> float:
    """How much a smooth island looks painted in, in [0, 1].

    Inside texture (the ring around the island is normally active): the island is much smoother
    than its own ring and than the image, it is a blob (not an edge band), it continues the ring's
    gray level (a highlight or a background is brighter or darker than its surroundings) and it is
    not near white or black (where clipping and JPEG remove a capture's noise).
    Inside flat black-and-white content (binarised scans, whose ring is noise-free; ``binary``: the
    whole image is such a scan, where JPEG ringing along edges looks like texture): any wide smooth
    mid-gray blob is foreign, since such images have gray only along their edges.
    An island at the image border (a short stretch of it) must be clearly smoother than its ring
    (local ratio under 0.15-0.2) inside texture, and does not count inside flat content.
    ``native``: the island was measured at the image's own resolution. A reduced image has its noise
    averaged away, and small smooth spots are common there (BSData's frames, halved: islands of
    70-150 px scoring 0.56-0.9 on the smaller sizes below in 11 of 300 untouched frames), so only at
    native resolution do islands of 40-80 px count as blobs, and rings only 30-45% normally active."""
    if s.ring_activity >= 0.3 and not binary:
        # 0.56 for a disc, 0.33 for a 3:1 ellipse, 0.2 for 8:1, ~0.1 for an edge band
        compact = s.radius / np.sqrt(s.area)
        # a heal of a 16 x 14 px ellipse leaves an island of 65-80 px (radius 3.6-4.2) after the 7-px
        # activity window; on NEU-DET's 200 x 200 images such small heals were missed at (60, 120)
        radius, area = ((2.5, 3.5), (40.0, 80.0)) if native else ((3.0, 4.0), (60.0, 120.0))
        shape = _ramp(s.radius, *radius) * _ramp(s.area, *area) * _ramp(compact, 0.12, 0.2)
        smooth = (1.0 - _ramp(s.local, 0.2, 0.3)) * (1.0 - _ramp(s.activity, 0.22, 0.3))
        # a heal covers a defect, whose smooth body can fill half its ring (NEU-DET: a normal share of
        # 0.47): at native resolution a normal share from 0.3-0.45 up is enough
        normal = (0.3, 0.45) if native else (0.4, 0.55)
        context = _ramp(s.ring_activity, 0.4, 0.6) * _ramp(s.ring_normal, *normal) * (1.0 - _ramp(s.step, 1.0, 2.0))
        # near white (or black) a capture loses its noise to clipping and JPEG: specular highlights are smooth
        exposure = (1.0 - _ramp(s.level, 222.0, 232.0)) * _ramp(s.level, 23.0, 33.0)
        # at the border the ring is cut and a smooth margin of the frame is common: demand more contrast
        edge = 1.0 - _ramp(s.local, 0.15, 0.2) if s.at_border else 1.0
        return shape * smooth * context * exposure * edge
    if s.at_border:  # flat content: a smooth region at the border is background
        return 0.0
    return _ramp(s.radius, 6.5, 7.5) * _ramp(s.area, 100, 200) * (1.0 - _ramp(s.activity, 0.12, 0.18))


def find_retouching(image: np.ndarray, *, min_score: float = 0.5, islands: bool = False) -> list[Retouch]:
    """Retouched regions of one image (BGR or gray), best first. ``islands``: also every smooth island
    of a plausible size whatever its score, so a dataset-level pass can tell scene from edit."""
    full = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)  # once, at full size
    gray, factor = work_gray(full)  # the clone search wants detail: up to WORK_SIDE (1280) pixels
    chroma = _chroma(image)
    found: list[Retouch] = []
    # how many matched blocks make a copy: repeated structure matches more by chance in a bigger image,
    # and drawn or noisy content (a straight stroke on noise) more than a binarised scan's exact edges
    binary = is_binary(gray)
    crowd = min(1.0, gray.size / 640.0**2)  # candidate partners per block, relative to a 640 x 640 image
    need = (12.0 if binary else 20.0) + 18.0 * crowd
    flat_ok = 1.0 if binary else 0.25  # binarised scans are flat areas and edges only
    pen = _pen_colour(_at(chroma, gray.shape))
    faint = 0.0 if binary else FAINT
    # a JPEG-85 re-save of strong texture moves a copy's pixels by 4-5 gray levels (seed 3 of the benchmark: a
    # 24-px magnetic-tile copy, 4.6); a binarised scan's repeated pads differ by 2-2.5 after JPEG: kept at 4
    max_diff = 4.0 if binary else CAPTURE_DIFF
    for c in find_clones(
        gray, jpeg_grid=factor == 1, min_unique=need / 2, max_flat=flat_ok, exclude=pen, faint=faint, max_diff=max_diff
    ):
        # a copy re-saved as JPEG differs from its source by 1-2 gray levels; chance matches of similar
        # texture differ by more: the more the matched blocks differ, the more of them make a copy.
        # Halved (factor 2), a copy moved by an odd number of pixels is resampled half a pixel off its
        # source: up to about 1 gray level more. Chance matches grow with the partners each block has, so
        # the surcharge scales with the image's area: on NEU-DET's 200 x 200 images the most unique chance
        # matches in 300 untouched images were 26 (diff 3.8), while JPEG-85 copies of strong texture differ
        # by 3.5-4.5 with 57 matched blocks (benchmark seeds 3-5). Not for blocks holding exact flat parts:
        # the outlines of two drawn holes of one gray level match wherever they are (a demo plate: 56
        # blocks differing by 3.9), however small the image
        scale = crowd if c.flat < 0.02 else 1.0
        many = need * (1.0 + max(0.0, c.diff - (3.0 if factor == 2 else 2.0)) * scale)
        score = _ramp(c.unique, many, 2 * many) * (1.0 - _ramp(c.diff, max_diff - 0.5, max_diff + 0.5))
        if score >= min_score:
            found.append(
                Retouch(
                    "clone",
                    _scaled(c.target, factor),
                    round(score, 3),
                    _scaled(c.source, factor),
                    {
                        "blocks": c.blocks,
                        "unique_blocks": round(c.unique, 1),
                        "mean_difference": round(c.diff, 2),
                        "flat_share": round(c.flat, 3),
                        "offset_x": c.offset[0] * factor,
                        "offset_y": c.offset[1] * factor,
                    },
                )
            )
    # noise is judged at up to NOISE_SIDE pixels: the scale the island thresholds were set at
    gray, factor = work_gray(full, NOISE_SIDE)
    colour = _at(chroma, gray.shape)
    binary = is_binary(gray)
    # a coloured object or pen stroke is smooth in gray, but inpainting makes no colour the image lacks:
    # an island is left out when it is more colourful than 9 in 10 of the image's pixels (and than 40).
    # A capture's own colours are no pen: BSData's brass is healed in brass (islands of mean channel spread
    # 44-66 on the benchmark's healed frames, whose 90th percentile is 23-70, median 59; pens reach 150+)
    limit = 40.0 if colour is None else max(40.0, float(np.percentile(colour, 90)))
    for s in find_smooth_islands(gray):
        x1, y1, x2, y2 = s.box
        if colour is not None and float(colour[y1:y2, x1:x2].mean()) > limit:
            continue
        score = smooth_score(s, binary=binary, native=factor == 1)
        if score >= min_score or (islands and s.radius >= 4.0 and s.area >= 100):
            found.append(
                Retouch(
                    "smooth",
                    _scaled(s.box, factor),
                    round(score, 3),
                    None,
                    {
                        "area": s.area * factor * factor,
                        "activity_ratio": round(s.activity, 3),
                        "local_ratio": round(s.local, 3),
                        "radius": round(s.radius * factor, 1),
                        "step": round(s.step, 1),
                        "ring_normal": round(s.ring_normal, 3),
                        "reference_activity": round(s.reference, 2),
                    },
                )
            )
    # painted in after decoding: no JPEG block pattern where the rest of the image has it (full resolution)
    pens = _pen_colour(chroma)
    found += _block_clusters(
        "gridless",
        [(p.box, p.blocks, {"gridless_blocks": p.blocks, "gridded_share": round(p.gridded, 3)}) for p in find_gridless(full, exclude=pens)],
        (9.0, 13.0),
        min_score,
    )
    binary_full = is_binary(full)
    if not binary_full:
        # painted in after decoding and saved again: off the comb of an earlier, coarser JPEG (full resolution)
        found += _block_clusters(
            "requantised",
            [(o.box, o.blocks, {"off_comb_blocks": o.blocks, "background_share": o.background}) for o in find_requantised(full, exclude=pens)],
            (12.0, 20.0),
            min_score,
        )
    else:
        # gray smeared over a black-and-white scan, away from its edges (full resolution)
        unit = (min(full.shape) / 640.0) ** 2  # DeepPCB's 640 x 640 scans set the sizes
        # any colour on a black-and-white scan is a pen (JPEG blurs its chroma into the pixels around it)
        scan_pen = None if chroma is None else chroma > 24
        for q in find_shading(full, exclude=scan_pen):
            score = _ramp(q.area / unit, 20.0, 40.0)
            if score >= min_score:
                found.append(Retouch("shaded", q.box, round(score, 3), None, {"gray_pixels": q.area}))
        # a solid exact square of one colour stamped over flat board of the other (nothing to match)
        for sq in find_flat_squares(full, exclude=scan_pen):
            found.append(Retouch("pasted", sq.box, 1.0, None, {"fill": sq.fill, "ring": sq.ring}))
    return sorted(found, key=lambda r: -r.score)


def _relative_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def recurring(
    found: dict[str, tuple[int, int, list[dict[str, Any]]]], *, min_images: int = 3, min_iou: float = 0.3
) -> set[tuple[str, int]]:
    """(image key, index) of the edits that recur: the same kind at the same place (relative to the
    image size) in ``min_images`` or more images of that size. A smooth highlight or a repeated
    fixture that every capture of a scene shows is part of the scene; an edit is a one-off.

    ``found``: image key -> (width, height, its candidate edits, each with "kind" and "box")."""
    by_size: dict[tuple[int, int], list[tuple[str, int, str, tuple[float, float, float, float]]]] = {}
    for key, (w, h, edits) in found.items():
        for n, e in enumerate(edits):
            x1, y1, x2, y2 = e["box"]
            by_size.setdefault((w, h), []).append((key, n, e["kind"], (x1 / w, y1 / h, x2 / w, y2 / h)))
    out: set[tuple[str, int]] = set()
    for items in by_size.values():
        cells: dict[tuple[int, int], list[int]] = {}  # a coarse grid of box centres: compare neighbours only
        for m, (_, _, _, box) in enumerate(items):
            cells.setdefault(_cell(box), []).append(m)
        for key, n, kind, box in items:
            cx, cy = _cell(box)
            images = {key}
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for m in cells.get((cx + dx, cy + dy), []):
                        other_key, _, other_kind, other = items[m]
                        if other_kind == kind and _relative_iou(box, other) >= min_iou:
                            images.add(other_key)
            if len(images) >= min_images:
                out.add((key, n))
    return out


def _cell(box: tuple[float, float, float, float]) -> tuple[int, int]:
    return int((box[0] + box[2]) * 5), int((box[1] + box[3]) * 5)  # tenths of the image
