"""Geometric verification: do two sets of ORB features see the same physical surface?

Matches pass Lowe's ratio test, then RANSAC fits a similarity transform (rotation, uniform
scale, shift: ``cv2.estimateAffinePartial2D``). A pair is confirmed when enough matches
agree (inlier count) and they are a large enough share of the matches (inlier ratio):
look-alike parts give many ratio-test survivors but no common geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import faiss
import numpy as np

VERIFY_VERSION = 1


@dataclass(frozen=True)
class VerifyParams:
    ratio: float = 0.8  # Lowe's ratio test
    min_inliers: int = 20
    min_inlier_ratio: float = 0.6
    reproj_px: float = 4.0  # RANSAC threshold, in pixels of the first image's work resolution
    scale_range: tuple[float, float] = (0.2, 5.0)
    # Share of the textured cells of the overlap that hold an inlier: a different part on the
    # same fixture matches only on the fixture and leaves the part's cells unexplained.
    min_coverage: float = 0.6
    grid: int = 4


@dataclass(frozen=True)
class Verification:
    matches: int
    inliers: int
    scale: float
    angle: float  # degrees
    ok: bool
    coverage: float = 0.0

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0

    def evidence(self) -> dict[str, float | int]:
        return {
            "inliers": self.inliers,
            "matches": self.matches,
            "inlier_ratio": round(self.inlier_ratio, 3),
            "scale": round(self.scale, 3),
            "angle": round(self.angle, 1),
            "coverage": round(self.coverage, 3),
        }


def ratio_matches(des_a: np.ndarray, des_b: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test on Hamming distances (FAISS binary search: ~5x faster than cv2.BFMatcher)."""
    index = faiss.IndexBinaryFlat(des_b.shape[1] * 8)
    index.add(np.ascontiguousarray(des_b))
    dist, nn = index.search(np.ascontiguousarray(des_a), 2)
    keep = dist[:, 0] < ratio * dist[:, 1]
    return np.flatnonzero(keep), nn[keep, 0]


_NONE = Verification(0, 0, 0.0, 0.0, False)


def verify(
    kp_a: np.ndarray,
    des_a: np.ndarray,
    kp_b: np.ndarray,
    des_b: np.ndarray,
    *,
    params: VerifyParams = VerifyParams(),
    pixel: float = 1.0,
    sizes: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> Verification:
    """``pixel``: size of one work-resolution pixel of image A in original pixels (1 / scale).
    ``sizes``: ((w, h) of A, (w, h) of B) in original pixels, for the coverage test."""
    if len(des_a) < params.min_inliers or len(des_b) < 2:
        return _NONE
    query_idx, train_idx = ratio_matches(des_a, des_b, params.ratio)
    if len(query_idx) < params.min_inliers:
        return Verification(len(query_idx), 0, 0.0, 0.0, False)
    src = kp_a[query_idx, :2]
    dst = kp_b[train_idx, :2]
    model, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=params.reproj_px * pixel, maxIters=500, confidence=0.995
    )
    if model is None or mask is None:
        return Verification(len(query_idx), 0, 0.0, 0.0, False)
    inliers = int(mask.sum())
    scale = float(math.hypot(model[0, 0], model[1, 0]))
    angle = float(math.degrees(math.atan2(model[1, 0], model[0, 0]))) % 360.0
    ok = (
        inliers >= params.min_inliers
        and inliers / len(query_idx) >= params.min_inlier_ratio
        and params.scale_range[0] <= scale <= params.scale_range[1]
    )
    coverage = 0.0 if not ok else 1.0
    if ok and sizes is not None:
        inliers_a = src[mask.ravel().astype(bool)]
        coverage = _coverage(kp_a[:, :2], kp_b[:, :2], inliers_a, model, sizes, params.grid)
        ok = coverage >= params.min_coverage
    return Verification(len(query_idx), inliers, scale, angle, ok, coverage)


def _inside(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return (points[:, 0] >= 0) & (points[:, 0] < size[0]) & (points[:, 1] >= 0) & (points[:, 1] < size[1])


def _coverage(
    pts_a: np.ndarray,
    pts_b: np.ndarray,
    inliers_a: np.ndarray,
    model: np.ndarray,
    sizes: tuple[tuple[int, int], tuple[int, int]],
    grid: int,
) -> float:
    """Share of the overlap's grid cells, textured in both images, that hold an inlier (in A's frame).

    Cells where only one image found keypoints say nothing (lighting or the keypoint cap moved
    them); cells where both did but nothing matched mean different content there.
    """
    a = pts_a[_inside(pts_a @ model[:, :2].T + model[:, 2], sizes[1])]
    back = cv2.invertAffineTransform(model)
    b = pts_b @ back[:, :2].T + back[:, 2]
    b = b[_inside(b, sizes[0])]
    if len(a) < grid * grid or len(b) < grid * grid:
        return 1.0
    lo, hi = a.min(0), a.max(0) + 1e-6

    def cells(points: np.ndarray) -> np.ndarray:
        c = np.clip(((points - lo) / (hi - lo) * grid).astype(int), 0, grid - 1)
        return np.bincount(c[:, 1] * grid + c[:, 0], minlength=grid * grid)

    textured = (cells(a) >= max(3, len(a) // (grid * grid * 4))) & (cells(b) >= max(3, len(b) // (grid * grid * 4)))
    explained = cells(inliers_a) > 0
    return float((explained & textured).sum() / max(1, textured.sum()))


def region_keypoints(
    keypoints: np.ndarray, bounds: tuple[float, float, float, float], *, context: float = 0.5, min_side: float = 48.0
) -> np.ndarray:
    """Indices of keypoints inside a region's box grown by ``context`` of its size on each side."""
    x1, y1, x2, y2 = bounds
    pad_x = max((x2 - x1) * context, (min_side - (x2 - x1)) / 2, 0.0)
    pad_y = max((y2 - y1) * context, (min_side - (y2 - y1)) / 2, 0.0)
    x, y = keypoints[:, 0], keypoints[:, 1]
    inside = (x >= x1 - pad_x) & (x <= x2 + pad_x) & (y >= y1 - pad_y) & (y <= y2 + pad_y)
    return np.flatnonzero(inside)
