"""The describe stage's compiled loops (numba), kept apart so that importing ``descriptors`` (every
command does) does not load numba (~0.3 s); ``compute`` and ``vlad`` import this module when they
first need it. Each kernel is tested against the OpenCV / NumPy code it replaced
(tests/similarity/test_kernels.py)."""

from __future__ import annotations

import numba
import numpy as np

from keepsight.descriptors.vlad import BITS


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def laplacian_and_noise_sums(gray):  # type: ignore[no-untyped-def]  # (gray uint8 (h, w)) -> (int, int, int)
    """The sum and sum of squares of a gray image's Laplacian (3x3 cross, OpenCV's default reflected
    border: ``cv2.Laplacian`` with ksize 1) and the L1 norm of Immerkaer's noise operator on its
    interior, in one pass for images of at least 3 x 3. Integer sums: exact.
    Branch-free inner loops, so they vectorise: half the time of the three OpenCV calls."""
    h, w = gray.shape
    lap_total = lap_squares = noise_l1 = 0
    for y in range(h):
        up = gray[1 if y == 0 else y - 1]  # reflect-101: row -1 is row 1
        row = gray[y]
        down = gray[h - 2 if y == h - 1 else y + 1]
        for x in (0, w - 1):  # the border columns, reflected the same way
            side = np.int32(row[1 if x == 0 else w - 2])
            lap = np.int32(up[x]) + np.int32(down[x]) + 2 * side - 4 * np.int32(row[x])
            lap_total += lap
            lap_squares += lap * lap
        row_total = row_squares = row_noise = 0
        for x in range(1, w - 1):
            vertical = np.int32(up[x]) + np.int32(down[x])
            horizontal = np.int32(row[x - 1]) + np.int32(row[x + 1])
            centre = np.int32(row[x])
            lap = vertical + horizontal - 4 * centre
            row_total += lap
            row_squares += lap * lap
            corners = np.int32(up[x - 1]) + np.int32(up[x + 1]) + np.int32(down[x - 1]) + np.int32(down[x + 1])
            row_noise += abs(corners - 2 * (vertical + horizontal) + 4 * centre)
        lap_total += row_total
        lap_squares += row_squares
        if 0 < y < h - 1:
            noise_l1 += row_noise
    return lap_total, lap_squares, noise_l1


@numba.njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[misc]
def bit_sums(descriptors: np.ndarray, assign: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per visual word: how many of its descriptors have each bit set (float32 (k, 256)), and how many
    descriptors it has. Exact small integers, as the one-hot matrix product they replace (5x cheaper)."""
    sums = np.zeros((k, BITS), np.float32)
    counts = np.zeros(k, np.float32)
    for i in range(descriptors.shape[0]):
        word = assign[i]
        counts[word] += 1.0
        for byte in range(32):
            value = descriptors[i, byte]
            for bit in range(8):  # np.unpackbits order: the most significant bit first
                sums[word, byte * 8 + bit] += (value >> (7 - bit)) & 1
    return sums, counts
