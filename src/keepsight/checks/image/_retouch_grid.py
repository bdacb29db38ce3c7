"""Healing traces no noise measure sees: a patch without the JPEG block grid the rest of the image
carries, and gray smeared over a black-and-white scan.

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
