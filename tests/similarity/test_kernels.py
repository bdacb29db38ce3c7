"""The compiled kernels give what the NumPy / FAISS / OpenCV code they replaced gave.

The references below are that code, kept here: verification's verdicts on the benchmark's
candidate pairs must not move when a kernel changes (docs/similarity.md).
"""

from __future__ import annotations

import cv2
import faiss
import numpy as np
import pytest

from keepsight.descriptors import vlad
from keepsight.descriptors.compute import colourfulness, image_stats
from keepsight.descriptors.kernels import bit_sums
from keepsight.similarity import kernels

# -- references: the code before the kernels -------------------------------------------------


def ref_one_match_per_keypoint(size_a: np.ndarray, qi: np.ndarray, ti: np.ndarray) -> np.ndarray:
    best = np.lexsort((-size_a[qi], ti))  # per B keypoint, A's largest keypoint first
    _, first = np.unique(ti[best], return_index=True)
    return np.sort(best[first])


def ref_orientation_consistent(turn: np.ndarray, window: float) -> np.ndarray:
    hist = np.bincount((turn // 10).astype(np.int64) % 36, minlength=36).astype(np.float64)
    half = max(0, int(window // 10))
    padded = np.concatenate([hist[36 - half :], hist, hist[:half]]) if half else hist
    votes = np.convolve(padded, np.ones(2 * half + 1), mode="valid")
    peak = float(np.argmax(votes) * 10 + 5)
    return np.abs((turn - peak + 180.0) % 360.0 - 180.0) <= window + 5.0  # type: ignore[no-any-return]


def ref_refine(src: np.ndarray, dst: np.ndarray, inl: np.ndarray, tight: float) -> tuple[np.ndarray, np.ndarray] | None:
    model = np.zeros((2, 3))
    for _ in range(2):
        ms, md = src[inl].mean(0), dst[inl].mean(0)
        a, b = src[inl] - ms, dst[inl] - md
        norm = float((a * a).sum()) or 1.0
        p = float((a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]).sum()) / norm
        q = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / norm
        rot = np.array([[p, -q], [q, p]])
        model = np.hstack([rot, (md - rot @ ms)[:, None]])
        inl = np.linalg.norm(src @ model[:, :2].T + model[:, 2] - dst, axis=1) <= tight
        if inl.sum() < 3:
            return None
    return model, inl


def _inside(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return (points[:, 0] >= 0) & (points[:, 0] < size[0]) & (points[:, 1] >= 0) & (points[:, 1] < size[1])  # type: ignore[no-any-return]


def ref_overlap(pts_a, pts_b, inliers_a, model, sizes, grid):  # type: ignore[no-untyped-def]
    a = pts_a[_inside(pts_a @ model[:, :2].T + model[:, 2], sizes[1])]
    back = cv2.invertAffineTransform(model)
    b = pts_b @ back[:, :2].T + back[:, 2]
    b = b[_inside(b, sizes[0])]
    overlap = min(len(a), len(b))
    if len(a) < grid * grid or len(b) < grid * grid:
        return overlap, 1.0
    lo, hi = a.min(0), a.max(0) + 1e-6

    def cells(points: np.ndarray) -> np.ndarray:
        c = np.clip(((points - lo) / (hi - lo) * grid).astype(int), 0, grid - 1)
        return np.bincount(c[:, 1] * grid + c[:, 0], minlength=grid * grid)

    ca, cb = cells(a), cells(b)
    textured = (ca >= max(3, len(a) // (grid * grid * 4))) & (cb >= max(3, len(b) // (grid * grid * 4)))
    weight = np.minimum(ca, cb) * textured
    explained = cells(inliers_a) > 0
    return overlap, float((weight * explained).sum() / max(1, weight.sum()))


def ref_image_stats(pixels: np.ndarray, gray: np.ndarray) -> dict[str, float]:
    hist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().cumsum()
    p1, p5, p50, p95, p99 = np.searchsorted(hist, np.array([0.01, 0.05, 0.5, 0.95, 0.99]) * hist[-1])
    mean, std = cv2.meanStdDev(gray)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))
    h, w = gray.shape
    noise = 0.0
    if h >= 3 and w >= 3:  # Immerkaer: the Laplacian-difference operator on the interior
        kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
        resp = cv2.filter2D(gray, cv2.CV_16S, kernel)[1:-1, 1:-1]
        noise = float(cv2.norm(resp, cv2.NORM_L1) * np.sqrt(np.pi / 2) / (6.0 * (w - 2) * (h - 2)))
    return {
        "brightness": float(mean[0, 0]),
        "p1": float(p1),
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "contrast": float(std[0, 0]),
        "sharpness": float(lap_std[0, 0]) ** 2,
        "noise": noise,
        "colourfulness": colourfulness(pixels) if pixels.ndim == 3 else 0.0,
    }


# -- the kernels against them ------------------------------------------------------------------


@pytest.mark.parametrize(("n_a", "n_b"), [(225, 338), (600, 600), (50, 1), (7, 0), (0, 5)])
def test_two_nearest_equals_faiss_ties_and_missing_neighbours_included(n_a: int, n_b: int) -> None:
    rng = np.random.default_rng(n_a + n_b)
    des_a = rng.integers(0, 256, (n_a, 32), dtype=np.uint8)
    des_b = rng.integers(0, 256, (n_b, 32), dtype=np.uint8)
    if n_b > 20 and n_a > 10:
        des_b[[3, 9, 15]] = des_a[4]  # a three-way tie at distance 0: the smallest index wins
        des_b[12] = des_a[6]
        des_b[12, 0] ^= 1
        des_b[17] = des_b[12]  # a tie for second place
    dist, index = kernels.two_nearest(des_a, des_b)
    ref_dist, ref_index = faiss.knn_hamming(des_a, des_b, 2)
    assert dist.dtype == np.int32 and index.dtype == np.int64
    assert np.array_equal(dist, ref_dist) and np.array_equal(index, ref_index)
    if n_b > 20 and n_a > 10:
        assert list(index[4]) == [3, 9] and list(dist[4]) == [0, 0]


def test_two_nearest_refuses_descriptors_that_are_not_orb() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        kernels.two_nearest(np.zeros((3, 16), np.uint8), np.zeros((3, 16), np.uint8))


def test_match_filters_equal_the_numpy_code() -> None:
    rng = np.random.default_rng(3)
    for trial in range(200):
        n = int(rng.integers(0, 120))
        size_a = rng.choice(np.array([7.0, 9.5, 12.0, 31.0], np.float32), 300)  # many equal sizes: ties
        qi = rng.integers(0, 300, n)
        ti = rng.integers(0, 40 if trial % 2 else 400, n)  # many matches per B keypoint, or few
        assert np.array_equal(kernels.one_match_per_keypoint(size_a, qi, ti), ref_one_match_per_keypoint(size_a, qi, ti))
        angle_a = (rng.random(n) * 360).astype(np.float32)
        angle_b = ((angle_a + rng.normal(90, 8, n) * (rng.random(n) < 0.6) + rng.random(n) * 360) % 360).astype(np.float32)
        angle_b[:5] = angle_a[:5]  # exact multiples of 10 and zero differences
        for window in (0.0, 10.0, 30.0):
            got = kernels.orientation_consistent(angle_a, angle_b, window)
            assert np.array_equal(got, ref_orientation_consistent((angle_b - angle_a) % 360.0, window))


def test_refinement_and_overlap_equal_the_numpy_code() -> None:
    rng = np.random.default_rng(5)
    for _ in range(100):
        n = int(rng.integers(3, 200))
        src = (rng.random((n, 2)) * 600).astype(np.float32)
        angle, scale = rng.random() * 6.3, 0.7 + rng.random() * 0.6
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        dst = (src @ rot.T + rng.random(2) * 100 + rng.normal(0, 1.0, (n, 2))).astype(np.float32)
        outliers = rng.random(n) < 0.4
        dst[outliers] = (rng.random((int(outliers.sum()), 2)) * 600).astype(np.float32)
        start = rng.random(n) < 0.7
        ok, model, inl = kernels.refine_similarity(src, dst, start, 1.5, 2)
        ref = ref_refine(src, dst, start, 1.5)
        assert ok == (ref is not None)
        if ref is None:
            continue
        assert np.allclose(model, ref[0], rtol=1e-9, atol=1e-6) and np.array_equal(inl, ref[1])
        if inl.sum() < 3:
            continue
        pts_b = (rng.random((int(rng.integers(10, 400)), 2)) * 700).astype(np.float32)
        sizes = ((600, 600), (int(rng.integers(300, 800)), int(rng.integers(300, 800))))
        got = kernels.overlap_coverage(
            src, pts_b, np.ascontiguousarray(src[inl]), model, cv2.invertAffineTransform(model),
            (600.0, 600.0), (float(sizes[1][0]), float(sizes[1][1])), 4,
        )
        assert got == ref_overlap(src, pts_b, src[inl], model, sizes, 4)


def test_vlad_bit_sums_equal_the_one_hot_product() -> None:
    rng = np.random.default_rng(2)
    descriptors = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    assign = rng.integers(0, 64, 300)
    sums, counts = bit_sums(descriptors, assign, 64)
    member = np.zeros((64, 300), np.float32)
    member[assign, np.arange(300)] = 1.0
    assert np.array_equal(sums, member @ vlad.unpack(descriptors))
    assert np.array_equal(counts, member.sum(1))


@pytest.mark.parametrize("shape", [(2, 5), (3, 3), (4, 7), (97, 131), (300, 200)])
def test_image_statistics_equal_opencv(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0])
    gray = cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (3, 3), 0)
    gray[: shape[0] // 3] = 255  # a saturated band: large Laplacian responses at its edge
    got, ref = image_stats(gray, gray), ref_image_stats(gray, gray)
    assert got.keys() == ref.keys()
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
