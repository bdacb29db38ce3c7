"""Geometric verification: do two sets of ORB features see the same physical surface?

1. Matches pass Lowe's ratio test (the two nearest by Hamming distance: ``kernels.two_nearest``)
   and must agree on the rotation their keypoint orientations imply (a vote over the orientation differences, as in Lowe's Hough step).
2. RANSAC fits a similarity transform (rotation, uniform scale, shift:
   ``cv2.estimateAffinePartial2D``), refined by least squares on its inliers.
3. The pair is confirmed when enough matches land within ``tight_px`` of the refined transform,
   both as a count and as a share of the keypoints the two images have inside their overlap, and
   when those inliers cover the textured part of the overlap.

Why a share of the overlap's keypoints: on one fixture (a ball screw thread, a PCB design, the
rails a part sits on) the coarse structure repeats from part to part, so two different parts
give a few dozen exact inliers out of hundreds of keypoints, while two captures of one surface
also share its fine texture and give many more. Why coverage: a different part on the same
fixture matches only on the fixture and leaves the part's cells unexplained.

A quick test on the strongest ``quick_keypoints`` of the first image (against 1.5 times as many
of the second's) rejects most candidate pairs at a fifth of the matching cost; the pairs that
pass it reuse its distances in the full match.

The test is not symmetric (A's strongest keypoints, A's pixels, one match per keypoint of B), so
``verify_descriptions`` tries a near miss again from B's side (``reverse_share``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import faiss
import numpy as np

from keepsight.similarity import kernels

if TYPE_CHECKING:
    from keepsight.descriptors.compute import Description

# 5: a near miss is verified again with the roles swapped; 4: pairs the quick test alone confirms with a
# margin skip the full match (3: regions need 16)
VERIFY_VERSION = 5


@dataclass(frozen=True)
class VerifyParams:
    ratio: float = 0.8  # Lowe's ratio test
    # Tight inliers, at least. 17 (scaled to 600 keypoints) found more benchmark pairs, but on the
    # whole of DeepPCB it chained crops of periodic traces the dense check does not confirm into
    # one group of 16 (docs/similarity.md): 22 keeps groups tight.
    min_inliers: int = 22
    inlier_share: float = 0.04  # ... and at least this share of the keypoints inside the overlap
    # Unrotated pairs (within ``aligned_degrees``) need a larger share: a fixed camera over one
    # fixture lines up the fixture's structure between any two of its images at rotation ~0.
    aligned_share: float = 0.055
    aligned_degrees: float = 3.0
    reproj_px: float = 4.0  # RANSAC threshold, in pixels of the first image's work resolution
    tight_px: float = 1.5  # an inlier of the refined transform lies this close (work pixels)
    orientation_window: float = 30.0  # degrees either side of the dominant orientation difference
    scale_range: tuple[float, float] = (0.2, 5.0)
    # Keypoint-weighted share of the overlap's textured cells that hold an inlier (see _overlap).
    min_coverage: float = 0.4
    grid: int = 4
    # The quick test matches this many of A's strongest keypoints (the same 3/8 of the keypoint
    # budget as 300 of 800 before: a larger share of 600 only adds search time) ...
    quick_keypoints: int = 225
    # ... against this many times as many of B's (1.5 accepted the same pairs as 2, but one, on
    # both benchmark seeds and on 500 NEU-DET and 500 DeepPCB images, for ~10 % less time) ...
    quick_ratio_b: float = 1.5
    quick_min_inliers: int = 6  # ... and needs this many RANSAC inliers to go on
    # A pair whose quick test alone passes the whole test with this margin (its tight inliers
    # among the strongest keypoints reach ``early_accept`` times the inliers needed, with the
    # coverage and scale tests) is confirmed without the full match: no pair that the full test
    # rejects had more than 24 quick inliers on three benchmark seeds, while 60 % of the confirmed
    # pairs have 33 or more, and the full match is four fifths of their cost. 0 turns it off.
    early_accept: float = 1.5
    # A pair rejected with at least this share of ``min_inliers`` tight inliers is verified again
    # with the roles swapped (B's strongest keypoints in the quick test, B's pixels for the
    # tolerances, one match per keypoint of A): the test is not symmetric, and on the three
    # benchmark seeds the swapped test confirmed 1-2 more positives per seed and no labelled
    # negative, for 70-85 more verifications per 480 images (docs/similarity.md). 0 turns it off.
    reverse_share: float = 0.75


@dataclass(frozen=True)
class Verification:
    matches: int
    inliers: int  # tight inliers of the refined transform
    scale: float
    angle: float  # degrees
    ok: bool
    coverage: float = 0.0
    overlap: int = 0  # keypoints inside the overlap (the smaller of the two images' counts)
    needed: int = 0  # the inlier count this pair had to reach

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
            "overlap_keypoints": self.overlap,
            "inliers_needed": self.needed,
        }


_NONE = Verification(0, 0, 0.0, 0.0, False)


def ratio_matches(
    des_a: np.ndarray, des_b: np.ndarray | faiss.IndexBinary, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test on Hamming distances (``kernels.two_nearest``, or a FAISS binary index).

    ``des_b``: B's descriptors, or a FAISS binary index over them (to search it more than once).
    """
    size = des_b.ntotal if isinstance(des_b, faiss.IndexBinary) else len(des_b)
    if len(des_a) == 0 or size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if isinstance(des_b, faiss.IndexBinary):
        return _ratio_test(*des_b.search(np.ascontiguousarray(des_a), 2), ratio)
    return _ratio_test(*_two_nearest(des_a, des_b), ratio)


def _ratio_test(dist: np.ndarray, nn: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    keep = dist[:, 0] < ratio * dist[:, 1]  # a missing second neighbour has distance 2^31 - 1
    return np.flatnonzero(keep), nn[keep, 0]


def _two_nearest(des_a: np.ndarray, des_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hamming distances (n, 2) and indices (n, 2, -1 when missing) of each A descriptor's two nearest in B.

    A compiled brute-force kernel (``kernels.two_nearest``): 2-3x cheaper than FAISS's on these small sets.
    """
    return kernels.two_nearest(des_a, des_b)


def _two_nearest_extending(
    des_a: np.ndarray, des_b: np.ndarray, head: tuple[np.ndarray, np.ndarray], head_b: int
) -> tuple[np.ndarray, np.ndarray]:
    """``_two_nearest(des_a, des_b)`` given those of A's first ``len(head[0])`` descriptors in B's first ``head_b``.

    The quick test's search is part of the full one: only the rest of the distances are computed.
    """
    dist, nn = head
    done_a = len(dist)
    if head_b < len(des_b):
        more_dist, more_nn = _two_nearest(des_a[:done_a], des_b[head_b:])
        dist = np.hstack([dist, more_dist])
        nn = np.hstack([nn, np.where(more_nn >= 0, more_nn + head_b, -1)])
        best = np.argsort(dist, axis=1, kind="stable")[:, :2]
        dist, nn = np.take_along_axis(dist, best, 1), np.take_along_axis(nn, best, 1)
    if done_a < len(des_a):
        rest_dist, rest_nn = _two_nearest(des_a[done_a:], des_b)
        dist, nn = np.vstack([dist, rest_dist]), np.vstack([nn, rest_nn])
    return dist, nn


def _fit(src: np.ndarray, dst: np.ndarray, params: VerifyParams, pixel: float) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC similarity on orientation-consistent matches, then least squares on the tight inliers."""
    model, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=params.reproj_px * pixel, maxIters=500, confidence=0.995
    )
    if model is None or mask is None or int(mask.sum()) < 3:
        return None
    # refine twice: the least-squares fit of the inliers beats RANSAC's minimal sample
    ok, model, inl = kernels.refine_similarity(src, dst, mask.ravel().astype(bool), params.tight_px * pixel, 2)
    return (model, inl) if ok else None


def _scale_angle(model: np.ndarray) -> tuple[float, float]:
    return float(math.hypot(model[0, 0], model[1, 0])), float(math.degrees(math.atan2(model[1, 0], model[0, 0]))) % 360


def _consistent(
    kp_a: np.ndarray, kp_b: np.ndarray, qi: np.ndarray, ti: np.ndarray, params: VerifyParams
) -> tuple[np.ndarray, np.ndarray]:
    """One match per keypoint of B (A's strongest wins), among those whose orientations agree on one rotation.

    Many keypoints of A matched to one of B would let a degenerate transform (scale ~ 0) gather inliers.
    """
    keep = kernels.one_match_per_keypoint(kp_a[:, 2], qi, ti)
    qi, ti = qi[keep], ti[keep]
    if len(qi) < 3:
        return qi, ti
    # a circular vote over the orientation differences (as in Lowe's Hough step)
    keep = kernels.orientation_consistent(kp_a[qi, 3], kp_b[ti, 3], params.orientation_window)
    return qi[keep], ti[keep]


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
    ``sizes``: ((w, h) of A, (w, h) of B) in original pixels, for the overlap and coverage tests;
    without them only ``min_inliers`` applies (regions)."""
    if len(des_a) < params.quick_min_inliers or len(des_b) < 2:
        return _NONE
    quick_a, quick_b = params.quick_keypoints, round(params.quick_keypoints * params.quick_ratio_b)
    nearest = _two_nearest(des_a[:quick_a], des_b[:quick_b])
    if quick_a < len(des_a) or quick_b < len(des_b):  # the strongest keypoints first: most pairs stop here
        qi, ti = _ratio_test(*nearest, params.ratio)
        if len(qi) < params.quick_min_inliers:  # too few matches to be worth filtering and fitting
            return Verification(len(qi), 0, 0.0, 0.0, False)
        qi, ti = _consistent(kp_a, kp_b, qi, ti, params)
        fit = _fit(kp_a[qi, :2], kp_b[ti, :2], params, pixel) if len(qi) >= params.quick_min_inliers else None
        if fit is None or int(fit[1].sum()) < params.quick_min_inliers:
            return Verification(len(qi), 0 if fit is None else int(fit[1].sum()), 0.0, 0.0, False)
        if sizes is not None and params.early_accept > 0:
            early = _judge(kp_a, kp_b, kp_a[qi, :2], fit, len(qi), params, sizes, params.early_accept)
            if early.ok:
                return early
        nearest = _two_nearest_extending(des_a, des_b, nearest, quick_b)
    qi, ti = _ratio_test(*nearest, params.ratio)
    qi, ti = _consistent(kp_a, kp_b, qi, ti, params)
    if len(qi) < min(params.min_inliers, params.quick_min_inliers):
        return Verification(len(qi), 0, 0.0, 0.0, False)
    src = kp_a[qi, :2]
    fit = _fit(src, kp_b[ti, :2], params, pixel)
    if fit is None:
        return Verification(len(qi), 0, 0.0, 0.0, False)
    return _judge(kp_a, kp_b, src, fit, len(qi), params, sizes)


def _judge(
    kp_a: np.ndarray,
    kp_b: np.ndarray,
    src: np.ndarray,
    fit: tuple[np.ndarray, np.ndarray],
    matches: int,
    params: VerifyParams,
    sizes: tuple[tuple[int, int], tuple[int, int]] | None,
    margin: float = 1.0,
) -> Verification:
    """The verdict on a fitted transform: enough tight inliers (``margin`` times the count needed),
    a plausible scale, and (with ``sizes``) the overlap share and coverage tests."""
    model, tight = fit
    inliers = int(tight.sum())
    scale, angle = _scale_angle(model)
    needed, coverage, overlap = params.min_inliers, 1.0, 0
    if sizes is not None:
        if margin > 1.0 and inliers < margin * needed:  # an early verdict that cannot pass: no overlap needed
            return Verification(matches, inliers, scale, angle, False, 0.0, 0, needed)
        overlap, coverage = _overlap(kp_a[:, :2], kp_b[:, :2], src[tight], model, sizes, params.grid)
        aligned = min(angle, 360.0 - angle) <= params.aligned_degrees
        needed = max(needed, math.ceil((params.aligned_share if aligned else params.inlier_share) * overlap))
    ok = (
        inliers >= margin * needed
        and params.scale_range[0] <= scale <= params.scale_range[1]
        and coverage >= params.min_coverage
    )
    return Verification(matches, inliers, scale, angle, ok, coverage, overlap, needed)


def verify_regions(
    kp_a: np.ndarray,
    des_a: np.ndarray,
    regions: list[np.ndarray],
    kp_b: np.ndarray,
    des_b: np.ndarray | faiss.IndexBinary,
    *,
    params: VerifyParams,
    pixel: float = 1.0,
) -> tuple[int, Verification]:
    """The best of several regions of image A (keypoint index arrays) found in the whole of image B.

    One ratio-test search of all the regions' keypoints against B; each region is then fitted on
    its own matches (the same test as ``verify`` of that region alone, without the quick test and
    without coverage; ``inlier_share`` applies to the region's keypoint count: a region found
    again has most of its keypoints in the other image, a look-alike structure only a few).
    Returns (position of the best region, its verification); (-1, a failed one) when none has
    ``min_inliers`` matches.
    """
    union = np.unique(np.concatenate(regions)) if regions else np.zeros(0, np.int64)
    best: tuple[int, Verification] = (-1, _NONE)
    if len(union) < params.min_inliers:
        return best
    qi, ti = ratio_matches(des_a[union], des_b, params.ratio)
    if len(qi) < params.min_inliers:
        return best
    qi = union[qi]
    member = np.zeros(len(des_a), bool)
    for r, idx in enumerate(regions):
        member[:] = False
        member[idx] = True
        inside = member[qi]
        if int(inside.sum()) < params.min_inliers:
            continue
        rq, rt = _consistent(kp_a, kp_b, qi[inside], ti[inside], params)
        if len(rq) < params.min_inliers:
            continue
        fit = _fit(kp_a[rq, :2], kp_b[rt, :2], params, pixel)
        if fit is None:
            continue
        model, tight = fit
        inliers = int(tight.sum())
        scale, angle = _scale_angle(model)
        needed = max(params.min_inliers, math.ceil(params.inlier_share * len(idx)))
        ok = inliers >= needed and params.scale_range[0] <= scale <= params.scale_range[1]
        v = Verification(len(rq), inliers, scale, angle, ok, 1.0, len(idx), needed)
        if (v.ok, v.inliers) > (best[1].ok, best[1].inliers):
            best = (r, v)
    return best


def _overlap(
    pts_a: np.ndarray,
    pts_b: np.ndarray,
    inliers_a: np.ndarray,
    model: np.ndarray,
    sizes: tuple[tuple[int, int], tuple[int, int]],
    grid: int,
) -> tuple[int, float]:
    """(keypoints inside the overlap, the smaller of A's and B's counts; coverage of its textured cells).

    Coverage: the overlap (in A's frame) is cut into grid x grid cells; a cell is textured when
    both images have keypoints there, and weighs as many keypoints as the poorer of the two has.
    Coverage is the weighted share of textured cells that hold an inlier. Cells where only one
    image found keypoints say nothing (lighting or the keypoint cap moved them); textured cells
    without an inlier mean different content there, such as a different part on the same fixture.
    """
    back = cv2.invertAffineTransform(model)
    sizes_f = (float(sizes[0][0]), float(sizes[0][1])), (float(sizes[1][0]), float(sizes[1][1]))
    return kernels.overlap_coverage(  # type: ignore[no-any-return]
        pts_a, pts_b, np.ascontiguousarray(inliers_a), model, back, sizes_f[0], sizes_f[1], grid
    )


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


def verify_descriptions(a: Description, b: Description, params: VerifyParams = VerifyParams()) -> Verification:
    """:func:`verify` on two stored descriptions: A's work-pixel tolerance and both images' sizes.

    A near miss (``reverse_share``) is verified again from B's side; the better verdict is returned,
    its scale and angle always those of A to B.
    """
    v = _verify_one_way(a, b, params)
    if v.ok or params.reverse_share <= 0 or v.inliers < params.reverse_share * params.min_inliers:
        return v
    back = _verify_one_way(b, a, params)
    if not back.ok:
        return v
    scale = 1.0 / back.scale if back.scale > 0 else 0.0
    return replace(back, scale=scale, angle=(360.0 - back.angle) % 360.0)


def _verify_one_way(a: Description, b: Description, params: VerifyParams) -> Verification:
    return verify(
        a.keypoints,
        a.descriptors,
        b.keypoints,
        b.descriptors,
        params=params,
        pixel=1.0 / a.scale,
        sizes=((a.width, a.height), (b.width, b.height)),
    )
