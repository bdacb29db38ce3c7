"""Verification's inner loops, compiled (numba): one candidate pair costs a few hundred microseconds,
and at that size NumPy's per-call overhead, not arithmetic, was most of it.

* ``two_nearest``: each of A's 256-bit ORB descriptors against all of B's as four 64-bit words
  (XOR, popcount), one row of distances at a time so the compiler vectorises it, then the two
  smallest. 2-3x cheaper than ``faiss.knn_hamming`` on the 225 x 338 and 600 x 600 sets
  verification compares (FAISS keeps a heap per query, which for k = 2 costs more than the
  distances). Same result, ties included (the smaller index first); a missing neighbour has
  distance 2^31 - 1 and index -1, as in FAISS.
* ``one_match_per_keypoint`` and ``orientation_consistent``: the match filters (verify.py says why).
* ``refine_similarity``: least-squares similarity transforms on RANSAC's inliers, twice.
* ``overlap_coverage``: the overlap and coverage test of a fitted transform.

Each has the NumPy reference it replaces in tests/similarity/test_kernels.py, which checks that
they agree. Kernels are compiled on first use and cached next to this file (``cache=True``): a
later process loads them in a fraction of a second.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

MISSING = np.iinfo(np.int32).max  # FAISS's distance for a neighbour that does not exist
_F32 = np.float32


def two_nearest(des_a: np.ndarray, des_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hamming distances int32 (n, 2) and indices int64 (n, 2) of each of A's descriptors' two nearest in B.

    Descriptors: uint8 (n, 32), ORB's 256 bits.
    """
    des_a, des_b = np.ascontiguousarray(des_a, np.uint8), np.ascontiguousarray(des_b, np.uint8)
    if des_a.shape[1:] != (32,) or des_b.shape[1:] != (32,):
        raise ValueError(f"expected 32-byte descriptors, got {des_a.shape} and {des_b.shape}")
    return _two_nearest(des_a.view(np.uint64), des_b.view(np.uint64))  # type: ignore[no-any-return]


def _popcount_typing(typingctx, word):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.call(builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)]), args)

    return numba.types.uint64(numba.types.uint64), codegen


_popcount: Any = intrinsic(_popcount_typing)  # LLVM's ctpop: one instruction where the CPU has it


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def _two_nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_a, n_b = a.shape[0], b.shape[0]
    dist = np.full((n_a, 2), MISSING, np.int32)
    index = np.full((n_a, 2), -1, np.int64)
    words = np.ascontiguousarray(b.T)  # word-major: the distance loop reads contiguous memory
    row = np.empty(n_b, np.int32)
    for i in range(n_a):
        w0, w1, w2, w3 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        for j in range(n_b):  # no branches: vectorised
            row[j] = np.int32(
                _popcount(w0 ^ words[0, j])
                + _popcount(w1 ^ words[1, j])
                + _popcount(w2 ^ words[2, j])
                + _popcount(w3 ^ words[3, j])
            )
        best, second, best_j, second_j = MISSING, MISSING, -1, -1
        for j in range(n_b):  # strict comparisons: among equal distances the first index wins
            d = row[j]
            if d < second:
                if d < best:
                    second, second_j, best, best_j = best, best_j, d, j
                else:
                    second, second_j = d, j
        dist[i, 0], dist[i, 1], index[i, 0], index[i, 1] = best, second, best_j, second_j
    return dist, index


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def one_match_per_keypoint(size_a: np.ndarray, qi: np.ndarray, ti: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the matches kept when each B keypoint keeps one: the largest A keypoint,
    the earliest match among equals."""
    n_b = 0
    for t in ti:
        n_b = max(n_b, t + 1)
    winner = np.full(n_b, -1, np.int64)
    for p in range(len(qi)):
        t = ti[p]
        if winner[t] < 0 or size_a[qi[p]] > size_a[qi[winner[t]]]:
            winner[t] = p
    keep = np.empty(len(qi), np.int64)
    n = 0
    for p in range(len(qi)):
        if winner[ti[p]] == p:
            keep[n] = p
            n += 1
    return keep[:n]


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def orientation_consistent(angle_a: np.ndarray, angle_b: np.ndarray, window: float) -> np.ndarray:
    """Mask of matches whose orientation difference (float32 degrees) lies near the dominant one:
    a circular vote in 10-degree bins, ``window`` degrees either side of the peak bin's centre."""
    turn = (angle_b - angle_a) % _F32(360.0)
    hist = np.zeros(36, np.int64)
    for x in turn:
        hist[np.int64(x // _F32(10.0)) % 36] += 1
    half = max(0, int(window // 10))
    best_votes, peak_bin = -1, 0
    for centre in range(36):
        votes = 0
        for offset in range(-half, half + 1):
            votes += hist[(centre + offset) % 36]
        if votes > best_votes:
            best_votes, peak_bin = votes, centre
    peak = _F32(peak_bin * 10 + 5)
    limit = _F32(window + 5.0)
    keep = np.empty(len(turn), np.bool_)
    for i in range(len(turn)):
        keep[i] = abs((turn[i] - peak + _F32(180.0)) % _F32(360.0) - _F32(180.0)) <= limit
    return keep


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def refine_similarity(
    src: np.ndarray, dst: np.ndarray, inliers: np.ndarray, tight: float, rounds: int
) -> tuple[bool, np.ndarray, np.ndarray]:
    """``rounds`` times: the least-squares similarity (Umeyama, no reflection) of the inliers, then the
    matches within ``tight`` of it are the inliers. (ok, model 2x3, inlier mask); not ok when fewer
    than 3 inliers remain."""
    n = len(src)
    model = np.zeros((2, 3))
    inl = inliers.copy()
    for _ in range(rounds):
        count, sx, sy, dx, dy = 0, 0.0, 0.0, 0.0, 0.0
        for i in range(n):
            if inl[i]:
                count += 1
                sx += src[i, 0]
                sy += src[i, 1]
                dx += dst[i, 0]
                dy += dst[i, 1]
        if count < 3:
            return False, model, inl
        sx, sy, dx, dy = sx / count, sy / count, dx / count, dy / count
        norm, p, q = 0.0, 0.0, 0.0
        for i in range(n):
            if inl[i]:
                ax, ay, bx, by = src[i, 0] - sx, src[i, 1] - sy, dst[i, 0] - dx, dst[i, 1] - dy
                norm += ax * ax + ay * ay
                p += ax * bx + ay * by
                q += ax * by - ay * bx
        if norm == 0.0:
            norm = 1.0
        p, q = p / norm, q / norm
        model[0, 0], model[0, 1], model[0, 2] = p, -q, dx - (p * sx - q * sy)
        model[1, 0], model[1, 1], model[1, 2] = q, p, dy - (q * sx + p * sy)
        count = 0
        for i in range(n):
            ex = model[0, 0] * src[i, 0] + model[0, 1] * src[i, 1] + model[0, 2] - dst[i, 0]
            ey = model[1, 0] * src[i, 0] + model[1, 1] * src[i, 1] + model[1, 2] - dst[i, 1]
            inl[i] = np.sqrt(ex * ex + ey * ey) <= tight
            count += inl[i]
        if count < 3:
            return False, model, inl
    return True, model, inl


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def _transformed(points: np.ndarray, model: np.ndarray) -> np.ndarray:
    """The points (n, 2) under the affine ``model`` (2x3), float64."""
    out = np.empty((len(points), 2))
    for i in range(len(points)):
        out[i, 0] = model[0, 0] * points[i, 0] + model[0, 1] * points[i, 1] + model[0, 2]
        out[i, 1] = model[1, 0] * points[i, 0] + model[1, 1] * points[i, 1] + model[1, 2]
    return out


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def _inside(points: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    """Mask of the points inside [0, width) x [0, height)."""
    keep = np.empty(len(points), np.bool_)
    for i in range(len(points)):
        keep[i] = 0.0 <= points[i, 0] < size[0] and 0.0 <= points[i, 1] < size[1]
    return keep


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def _count_cells(points, counts, lo_x, lo_y, span_x, span_y, grid):  # type: ignore[no-untyped-def]
    """Keypoints per cell of a grid x grid split of the box (lo, lo + span), in the points' precision."""
    g = _F32(grid)
    for i in range(len(points)):
        cx = min(max(int((points[i, 0] - lo_x) / span_x * g), 0), grid - 1)
        cy = min(max(int((points[i, 1] - lo_y) / span_y * g), 0), grid - 1)
        counts[cy * grid + cx] += 1


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def overlap_coverage(
    pts_a: np.ndarray,
    pts_b: np.ndarray,
    inliers_a: np.ndarray,
    model: np.ndarray,
    back: np.ndarray,
    size_a: tuple[float, float],
    size_b: tuple[float, float],
    grid: int,
) -> tuple[int, float]:
    """(keypoints inside the overlap, the smaller of A's and B's counts; coverage of its textured cells).
    ``back``: the inverse of ``model``. verify.py's ``_overlap`` says what the coverage is."""
    a = pts_a[_inside(_transformed(pts_a, model), size_b)]  # A's keypoints that land in B, in A's frame
    b = _transformed(pts_b, back)
    b = b[_inside(b, size_a)]  # B's keypoints that land in A, moved into A's frame
    overlap = min(len(a), len(b))
    cells_n = grid * grid
    if len(a) < cells_n or len(b) < cells_n:
        return overlap, 1.0
    # float32 bounds and cells for A's points, as the NumPy reference computes them (a cell edge
    # then falls where it did): the +1e-6 keeps the largest coordinate inside the last cell
    lo_x, lo_y, hi_x, hi_y = a[0, 0], a[0, 1], a[0, 0], a[0, 1]
    for i in range(1, len(a)):
        lo_x, lo_y = min(lo_x, a[i, 0]), min(lo_y, a[i, 1])
        hi_x, hi_y = max(hi_x, a[i, 0]), max(hi_y, a[i, 1])
    span_x, span_y = hi_x + _F32(1e-6) - lo_x, hi_y + _F32(1e-6) - lo_y
    counts = np.zeros((3, cells_n), np.int64)  # keypoints of A, of B, inliers per cell
    _count_cells(a, counts[0], lo_x, lo_y, span_x, span_y, grid)
    _count_cells(b, counts[1], lo_x, lo_y, span_x, span_y, grid)
    _count_cells(inliers_a, counts[2], lo_x, lo_y, span_x, span_y, grid)
    need_a, need_b = max(3, len(a) // (cells_n * 4)), max(3, len(b) // (cells_n * 4))
    total, explained = 0, 0
    for c in range(cells_n):
        if counts[0, c] >= need_a and counts[1, c] >= need_b:
            weight = min(counts[0, c], counts[1, c])
            total += weight
            if counts[2, c] > 0:
                explained += weight
    return overlap, explained / max(1, total)
