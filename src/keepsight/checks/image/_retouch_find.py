"""Both retouching detectors on one image, scored, in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keepsight.checks.image._retouch_clone import find_clones, work_gray
from keepsight.checks.image._retouch_noise import NOISE_SIDE, SmoothIsland, find_smooth_islands


@dataclass
class Retouch:
    kind: str  # "clone" (copy-move) | "smooth" (a noise-free island: healing, inpainting)
    box: tuple[int, int, int, int]  # the edited region (for a clone: the pasted target)
    score: float
    source: tuple[int, int, int, int] | None = None  # a clone's source region
    measures: dict[str, float] = field(default_factory=dict)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _scaled(box: tuple[int, int, int, int], factor: int) -> tuple[int, int, int, int]:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def smooth_score(s: SmoothIsland) -> float:
    """A blob (not an edge band) much smoother than the image; inside texture it must also continue its
    surroundings' gray level (a highlight does not); inside flat black/white content any smooth mid-gray
    blob is foreign (binarised scans have gray only along edges)."""
    compact = s.radius / np.sqrt(s.area)  # 0.56 for a disc, 0.33 for a 3:1 ellipse, ~0.1 for an edge band
    shape = _ramp(s.radius, 4.5, 6.0) * _ramp(s.area, 60, 120) * _ramp(compact, 0.2, 0.3)
    smooth = 1.0 - _ramp(s.activity, 0.10, 0.16)
    if s.ring_activity >= 0.3:
        context = (1.0 - _ramp(s.step, 10.0, 18.0)) * _ramp(s.ring_normal, 0.5, 0.65) * (1.0 - _ramp(s.local, 0.12, 0.2))
    else:
        context = 1.0
    return shape * smooth * context


def find_retouching(image: np.ndarray, *, min_score: float = 0.5) -> list[Retouch]:
    gray, factor = work_gray(image)  # the clone search wants detail: up to WORK_SIDE (1280) pixels
    found: list[Retouch] = []
    for c in find_clones(gray, jpeg_grid=factor == 1):
        score = _ramp(c.unique, 30, 70) * (1.0 - _ramp(c.diff, 2.5, 3.5))
        if score >= min_score:
            found.append(Retouch("clone", _scaled(c.target, factor), round(score, 3), _scaled(c.source, factor), {
                "blocks": c.blocks, "unique_blocks": round(c.unique, 1), "mean_difference": round(c.diff, 2),
                "offset_x": c.offset[0] * factor, "offset_y": c.offset[1] * factor}))
    # noise is judged at up to NOISE_SIDE pixels: the scale the island thresholds were set at
    gray, factor = work_gray(image, NOISE_SIDE)
    for s in find_smooth_islands(gray):
        score = smooth_score(s)
        if score >= min_score:
            found.append(Retouch("smooth", _scaled(s.box, factor), round(score, 3), None, {
                "area": s.area * factor * factor, "activity_ratio": round(s.activity, 3), "local_ratio": round(s.local, 3),
                "radius": round(s.radius * factor, 1), "step": round(s.step, 1), "ring_normal": round(s.ring_normal, 3),
                "reference_activity": round(s.reference, 2)}))
    return sorted(found, key=lambda r: -r.score)
