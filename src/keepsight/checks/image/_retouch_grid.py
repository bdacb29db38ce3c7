"""Healing traces no noise measure sees: a patch without the JPEG block grid (or without the earlier,
coarser JPEG quantisation) the rest of the image carries, and gray smeared over a black-and-white scan.

*Gridless patches.* A photograph stored as JPEG at a modest quality (BSData's frames: quality 75) keeps, in its smooth
parts, the 8x8 block pattern of its compression: the gray level steps at block boundaries more
than it changes inside a block. A healing brush or an inpainting run on the decoded pixels fills
its region with a smooth interpolation that knows nothing of the grid; saved again as PNG (or as
JPEG at quality 95) the filled region stays smooth across the block boundaries (a JPEG re-save at
quality 85-90 on the same grid puts much of the grid back: those are mostly missed).
Per 8x8 block of the grid anchored at the image's top-left: how much more the gray level steps
across its four boundaries than between the two pixels just inside each, and the mean absolute
step between neighbouring pixels inside it. A smooth, unclipped block whose boundaries do not
step out is *gridless*;
a connected cluster of gridless blocks in an image whose smooth blocks otherwise nearly all show
the grid is a candidate. Images without a strong grid (PNG captures, JPEG at quality 95 and up,
reduced decodes, binarised scans with few smooth blocks) are skipped.

*Requantised patches* (``find_requantised``): the same healing or a paste, saved again as JPEG at
quality 85-95, gets the grid back; but the low DCT coefficients of the rest of the frame still sit on
the comb of its first, coarser quantisation, and those of the painted-in blocks do not.

*Shading* (``find_shading``): on a binarised scan, gray pixels far from every sharp edge.

*Flat squares* (``find_flat_squares``): on a binarised scan, an isolated region of one colour that is
an exact, solid, axis-aligned square: a flat patch stamped over flat board.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRID = 8


@dataclass
class GridlessPatch:
    box: tuple[int, int, int, int]  # image pixels
    blocks: int  # gridless 8x8 blocks in the connected cluster
    gridded: float  # share of the image's smooth blocks that show the grid


def block_steps(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(jump, inner) per grid block: how much more the gray level steps across the block's boundaries
    than between the two pixels just inside each (mean over its four sides, 8 pixels each; a side at
    the image border counts as the opposite one), and the mean step between neighbouring pixels
    inside the block. Only the block's own pixels are compared with the boundary step: an edge
    just beyond the boundary makes the step across it large (a grid), never the comparison."""
    g = gray.astype(np.float32)
    h8, w8 = (g.shape[0] - 2) // GRID * GRID, (g.shape[1] - 2) // GRID * GRID
    bh, bw = h8 // GRID, w8 // GRID
    dx = np.abs(np.diff(g[:h8, : w8 + 2], axis=1))  # dx[:, x] = |g[:, x + 1] - g[:, x]|
    dy = np.abs(np.diff(g[: h8 + 2, :w8], axis=0))
    last = GRID - 1  # dx[:, 8k + 7]: from block k's last column to block k + 1's first
    across_x, across_y = dx[:, last::GRID][:, :bw], dy[last::GRID][:bh]
    right = (across_x - dx[:, last - 1 :: GRID][:, :bw]).reshape(bh, GRID, bw).mean(axis=1)
    left_of_next = (across_x - dx[:, last + 1 :: GRID][:, :bw]).reshape(bh, GRID, bw).mean(axis=1)
    bottom = (across_y - dy[last - 1 :: GRID][:bh]).reshape(bh, bw, GRID).mean(axis=2)
    top_of_next = (across_y - dy[last + 1 :: GRID][:bh]).reshape(bh, bw, GRID).mean(axis=2)
    left = np.concatenate([right[:, :1], left_of_next[:, :-1]], axis=1)
    top = np.concatenate([bottom[:1], top_of_next[:-1]], axis=0)
    jump = (right + left + bottom + top) / 4
    ix = dx[:, :w8].reshape(h8, bw, GRID)[:, :, :last].reshape(bh, GRID, bw, last).mean(axis=(1, 3))
    iy = dy[:h8].reshape(bh, GRID, w8)[:, :last].reshape(bh, last, bw, GRID).mean(axis=(1, 3))
    return jump, (ix + iy) / 2


def find_gridless(
    gray: np.ndarray,
    *,
    low: float = 0.1,
    high: float = 1.5,
    max_jump: float = 0.3,
    min_smooth: int = 1000,
    min_gridded: float = 0.85,
    min_blocks: int = 6,
    exclude: np.ndarray | None = None,
) -> list[GridlessPatch]:
    """Clusters of at least ``min_blocks`` gridless blocks (4-connected), largest first.

    A block is smooth when its inner step is between ``low`` (not a flat or clipped area: those have
    no steps at all) and ``high`` gray levels, and its mean level is not clipped; a smooth block is
    gridless when the steps across its boundaries exceed the steps just inside them by under
    ``max_jump`` gray levels on average. The image must
    have ``min_smooth`` smooth blocks, at least ``min_gridded`` of them showing the grid."""
    if min(gray.shape) < 8 * GRID:
        return []
    jump, inner = block_steps(gray)
    bh, bw = inner.shape
    level = cv2.resize(gray[: bh * GRID, : bw * GRID].astype(np.float32), (bw, bh), interpolation=cv2.INTER_AREA)
    smooth = (inner > low) & (inner < high) & (level > 12) & (level < 243)
    if exclude is not None:  # blocks holding excluded pixels (an annotator's pen) are left out
        near = cv2.dilate(exclude.astype(np.uint8), np.ones((5, 5), np.uint8))[: bh * GRID, : bw * GRID]
        held = cv2.resize(near.astype(np.float32), (bw, bh), interpolation=cv2.INTER_AREA)
        smooth &= held == 0
    count = int(smooth.sum())
    if count < min_smooth:
        return []
    gridless = smooth & (jump < max_jump)
    gridded = 1.0 - float(gridless.sum()) / count
    if gridded < min_gridded:
        return []
    n, _, stats, _ = cv2.connectedComponentsWithStats(gridless.astype(np.uint8), connectivity=4)
    found = [
        GridlessPatch((int(x) * GRID, int(y) * GRID, int(x + w) * GRID, int(y + h) * GRID), int(a), gridded)
        for x, y, w, h, a in stats[1:]
        if a >= min_blocks
    ]
    return sorted(found, key=lambda p: -p.blocks)


@dataclass
class ShadedPatch:
    box: tuple[int, int, int, int]  # image pixels
    area: int  # gray pixels far from any sharp edge, in the connected cluster


def find_shading(
    gray: np.ndarray,
    *,
    low: int = 15,
    high: int = 240,
    sharp: int = 160,
    far: float = 3.0,
    min_area: int = 10,
    exclude: np.ndarray | None = None,
) -> list[ShadedPatch]:
    """Gray pixels away from every sharp edge on a black-and-white scan, clustered (8-connected), largest first.

    A binarised scan (DeepPCB) is black and white; the gray it has lies along its edges (their
    antialiasing and JPEG ringing, within a pixel or two of a step of ``sharp`` gray levels or
    more). A healing brush or an inpainting smears gray over the board and a feathered paste
    blurs its edges: gray pixels (``low`` < level < ``high``) more than ``far`` pixels from any
    sharp step. On the untouched DeepPCB scans of the benchmark such clusters have at most 10
    pixels (mostly 1)."""
    step = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = (step <= sharp).astype(np.uint8)  # 0 on sharp steps: distanceTransform measures to them
    if edges.all():
        return []
    distance = cv2.distanceTransform(edges, cv2.DIST_L2, 3)
    shaded = (gray > low) & (gray < high) & (distance > far)
    if exclude is not None:  # excluded pixels (coloured pen strokes: gray in gray) and their surroundings
        shaded &= cv2.dilate(exclude.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    n, _, stats, _ = cv2.connectedComponentsWithStats(shaded.astype(np.uint8), connectivity=8)
    found = [
        ShadedPatch((int(x), int(y), int(x + w), int(y + h)), int(a)) for x, y, w, h, a in stats[1:] if a >= min_area
    ]
    return sorted(found, key=lambda p: -p.area)


@dataclass
class FlatSquare:
    box: tuple[int, int, int, int]  # image pixels
    fill: float  # share of the box the region covers
    ring: float  # share of the band 2-8 px outside the box that has the other colour


def find_flat_squares(
    gray: np.ndarray,
    *,
    min_side: float = 0.08,
    max_side: float = 0.3,
    squareness: float = 0.03,
    min_fill: float = 0.97,
    min_ring: float = 0.8,
    exclude: np.ndarray | None = None,
) -> list[FlatSquare]:
    """Isolated solid squares of one colour on a black-and-white scan (``gray`` thresholded at 128).

    A clone-stamp whose source is blank board, pasted over a flat area of the other colour, leaves
    a solid square of ``min_side`` - ``max_side`` x the short side, its sides equal within
    ``squareness`` and filling ``min_fill`` of its box, not touching the image border, with the other
    colour all around it (``min_ring`` of the band 2-8 px outside its box: the inside of a drawn
    box outline is a solid rectangle too, with the outline's far side of its own colour). The pads of
    PCB scans are discs, rectangles or squares with holes and tracks: among the 1,575 DeepPCB scans
    (test and template images) the closest is a 176 x 166 rectangle filling 98% of its box.
    ``exclude``: pixels (coloured pen strokes) no region may touch."""
    h, w = gray.shape
    short = min(h, w)
    bright = gray >= 128
    found: list[FlatSquare] = []
    for colour in (False, True):
        mask = (bright == colour).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        for k in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[k])
            if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
                continue
            if min(bw, bh) < min_side * short or max(bw, bh) > max_side * short:
                continue
            if abs(bw - bh) > max(2.0, squareness * max(bw, bh)) or area < min_fill * bw * bh:
                continue
            x1, y1, x2, y2 = max(0, x - 8), max(0, y - 8), min(w, x + bw + 8), min(h, y + bh + 8)
            band = np.ones((y2 - y1, x2 - x1), bool)
            band[max(0, y - 2 - y1) : y + bh + 2 - y1, max(0, x - 2 - x1) : x + bw + 2 - x1] = False
            ring = float((mask[y1:y2, x1:x2][band] == 0).mean())
            if ring < min_ring:
                continue
            if exclude is not None and exclude[y1:y2, x1:x2].any():
                continue
            found.append(FlatSquare((x, y, x + bw, y + bh), round(area / (bw * bh), 3), round(ring, 3)))
    return found


@dataclass
class OffCombPatch:
    box: tuple[int, int, int, int]  # image pixels
    blocks: int  # 8x8 blocks off the comb in the connected cluster
    background: float  # share of the image's other readable blocks off the comb


_COMB_COEFFICIENTS = ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0))


def _dct_rows() -> np.ndarray:
    k = np.arange(GRID)
    basis = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / (2 * GRID)) * np.sqrt(2.0 / GRID)
    basis[0] /= np.sqrt(2.0)
    return basis[:4].astype(np.float32)  # the low frequencies the comb is read on


def find_requantised(
    gray: np.ndarray,
    *,
    radius: int = 40,
    gap: float = 0.03,
    min_peak: int = 20,
    min_gap_share: float = 0.25,
    min_coefficients: int = 4,
    min_off: int = 2,
    max_background: float = 0.005,
    min_blocks: int = 6,
    exclude: np.ndarray | None = None,
) -> list[OffCombPatch]:
    """Clusters of 8x8 grid blocks (4-connected) whose low DCT coefficients miss the comb that an
    earlier, coarser JPEG compression left on the rest of the image, largest first.

    A frame stored as JPEG at a modest quality (BSData: 75) and saved again at a finer one (85-95)
    keeps its first quantisation: each low-frequency DCT coefficient of a grid block sits on a
    multiple of the first step (6 for quality 75), requantised by the finer one, so the image's
    histogram of that coefficient is a comb with empty values between its teeth. Pixels painted in
    after decoding (a heal, a pasted patch off the grid) carry only the second quantisation: their
    blocks put coefficients in the gaps. Per coefficient (the first nine in zigzag order but DC),
    over the blocks with no clipped pixel (under 4 or over 251): the rounded values within
    ``radius`` whose count is under ``gap`` x the highest count within 3 values (at least
    ``min_peak``) are gaps; a coefficient carries a comb when at least ``min_gap_share`` of the
    values within 12 of zero are gaps. With ``min_coefficients`` such coefficients, a block is off
    the comb when ``min_off`` or more of its coefficients fall in a gap. A cluster of at least
    ``min_blocks`` is a candidate when the rest of the image has at most ``max_background`` of its
    blocks off the comb (an image stored once, or as PNG after its colour conversion, is noisier
    or has no comb: skipped)."""
    h8, w8 = gray.shape[0] // GRID * GRID, gray.shape[1] // GRID * GRID
    bh, bw = h8 // GRID, w8 // GRID
    if bh < 8 or bw < 8:
        return []
    blocks = gray[:h8, :w8].astype(np.float32).reshape(bh, GRID, bw, GRID).transpose(0, 2, 1, 3)
    rows = _dct_rows()
    coefficients = np.einsum("ui,abij,vj->abuv", rows, blocks, rows, optimize=True)  # (bh, bw, 4, 4)
    readable = (blocks.min(axis=(2, 3)) > 3) & (blocks.max(axis=(2, 3)) < 252)
    if exclude is not None:  # blocks near excluded pixels (an annotator's pen) are left out
        near = cv2.dilate(exclude.astype(np.uint8), np.ones((9, 9), np.uint8))[:h8, :w8]
        readable &= near.reshape(bh, GRID, bw, GRID).max(axis=(1, 3)) == 0
    count = int(readable.sum())
    if count < 100:
        return []
    off = np.zeros((bh, bw), np.int32)
    combs = 0
    for u, v in _COMB_COEFFICIENTS:
        values = np.rint(coefficients[:, :, u, v]).astype(np.int64)
        inside = readable & (np.abs(values) <= radius)
        hist = np.bincount(values[inside] + radius, minlength=2 * radius + 1).astype(np.float64)
        padded = np.pad(hist, 3)
        peak = np.max(np.stack([padded[k : k + len(hist)] for k in range(7)]), axis=0)
        gaps = (hist < gap * peak) & (peak >= min_peak)
        gaps[radius] = False
        if gaps[radius - 12 : radius + 13].mean() < min_gap_share:
            continue
        combs += 1
        off += inside & gaps[np.clip(values + radius, 0, 2 * radius)]
    if combs < min_coefficients:
        return []
    marked = (off >= min_off) & readable
    total = int(marked.sum())
    n, _, stats, _ = cv2.connectedComponentsWithStats(marked.astype(np.uint8), connectivity=4)
    found = []
    for x, y, w, h, a in stats[1:]:
        background = (total - int(a)) / count
        if a >= min_blocks and background <= max_background:
            found.append(
                OffCombPatch((int(x) * GRID, int(y) * GRID, int(x + w) * GRID, int(y + h) * GRID), int(a), round(background, 4))
            )
    return sorted(found, key=lambda p: -p.blocks)
