"""Local noise inconsistency: a smooth island (no noise, no texture) inside noisy or textured content.

A healing brush or an inpainting fills a region by interpolating its border, so the filled
pixels lack the sensor noise and the fine texture every real capture has. The *activity* of a
pixel's neighbourhood is the mean absolute residual of a 3x3 median filter over a window; the
image's reference activity is its median over unclipped pixels. An island is a connected set of
pixels whose activity is below ``ratio`` x the reference, whose gray level is not clipped (pure
black or white areas are legitimately noise-free) and that touches the image border, if at all,
along a short stretch only, being small itself (backgrounds and frames run along it). It is scored against the ring of pixels a few pixels outside it: an edit is
an island much smoother than its own surroundings, which are themselves normally active.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WINDOW = 7
NOISE_SIDE = 768  # images are reduced (by a whole factor) to at most this before the analysis


@dataclass
class SmoothIsland:
    box: tuple[int, int, int, int]  # work-image pixels
    area: int
    activity: float  # the island's mean activity / the image's reference activity
    local: float  # the island's mean activity / its ring's median activity
    radius: float  # the largest disc inside the island (pixels): edits are blobs, edge bands are thin
    step: float  # |island mean - ring median| / ring spread: an inpainting continues its border, a highlight does not
    level: float  # the island's mean gray level
    ring_activity: float  # the ring's median activity / the image's reference activity
    ring_normal: float  # share of the ring with at least 0.6 x the reference activity
    reference: float  # the image's reference activity (gray levels)
    at_border: bool = False  # touches the image border (along a short stretch: see find_smooth_islands)


def activity_map(gray: np.ndarray, window: int = WINDOW) -> np.ndarray:
    residual = np.abs(gray.astype(np.float32) - cv2.medianBlur(gray, 3).astype(np.float32))
    return cv2.blur(residual, (window, window))


def find_smooth_islands(gray: np.ndarray, *, ratio: float = 0.3, min_area: int = 40, gap: int = 3, ring: int = 6,
                        max_share: float = 0.2, max_edge: float = 0.3) -> list[SmoothIsland]:
    h, w = gray.shape
    if min(h, w) < 3 * WINDOW:
        return []
    act = activity_map(gray)
    mean = cv2.blur(gray.astype(np.float32), (WINDOW, WINDOW))
    unclipped = (mean > 12) & (mean < 243)
    if unclipped.sum() < 0.05 * h * w:
        return []
    reference = float(np.median(act[unclipped]))
    if reference < 0.5:  # the whole image is smooth (synthetic, or heavily compressed): nothing to compare
        return []
    smooth = ((act < ratio * reference) & unclipped).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(smooth, connectivity=8)
    inner_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * gap + 1, 2 * gap + 1))
    outer_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * (gap + ring) + 1, 2 * (gap + ring) + 1))
    pad = gap + ring + 1
    found: list[SmoothIsland] = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if area < min_area or area > max_share * h * w:
            continue
        if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            # a background or a frame runs along the border; a healed spot near it only touches it
            contact = int((labels[0] == k).sum() + (labels[-1] == k).sum() + (labels[:, 0] == k).sum()
                          + (labels[:, -1] == k).sum())
            if max(bw, bh) > max_edge * min(h, w) or contact > max_edge * min(h, w) / 2:
                continue
        x1, y1, x2, y2 = max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)
        region = (labels[y1:y2, x1:x2] == k).astype(np.uint8)
        around = (cv2.dilate(region, outer_k) > 0) & (cv2.dilate(region, inner_k) == 0)
        if around.sum() < 8:
            continue
        ring_act = act[y1:y2, x1:x2][around]
        ring_median = max(float(np.median(ring_act)), 1e-3)
        inside = float(act[y1:y2, x1:x2][region > 0].mean())
        found.append(SmoothIsland(
            box=(x, y, x + bw, y + bh), area=area, activity=inside / reference, local=inside / ring_median,
            radius=float(cv2.distanceTransform(region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE).max()),
            step=abs(float(gray[y1:y2, x1:x2][region > 0].mean()) - float(np.median(gray[y1:y2, x1:x2][around])))
            / max(2.0, float(gray[y1:y2, x1:x2][around].std())),
            level=float(gray[y1:y2, x1:x2][region > 0].mean()),
            ring_activity=ring_median / reference, ring_normal=float(np.mean(ring_act >= 0.6 * reference)),
            reference=reference, at_border=x == 0 or y == 0 or x + bw >= w or y + bh >= h,
        ))
    return found
