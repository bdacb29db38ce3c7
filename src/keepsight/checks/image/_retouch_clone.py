"""Copy-move (clone-stamp) detection by block matching (Fridrich et al. 2003, made robust to re-saving).

Every 8x8 block of the gray image (stride 1, so any offset lines up) is described by its
low-frequency DCT coefficients. Blocks are bucketed by those coefficients, coarsely quantised,
in two hash tables shifted by half a step (so near-equal blocks on a step boundary still meet);
pairs in one bucket, far enough apart, whose pixels agree within ``max_diff`` gray levels are
*matches*. A clone-stamp leaves many matches with one common offset whose blocks form a
connected patch; natural texture never matches at the pixel level because its noise differs.
Left out: flat blocks (any two flat blocks match), blocks largely made of one exact gray level
(two drawn holes of one gray level match along their outlines whatever the noise around them;
not applied to binarised scans, which are nothing else), blocks that barely change when shifted a few
pixels (straight edges and bands), offsets on the JPEG grid (repeated content matches exactly
there), and blocks that match at several offsets (periodic structures such as rows of PCB pads
repeat; a pasted patch has one source).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BLOCK = 8
_MAX_OFFSETS = 12  # candidate offsets examined per image, most votes first
FAINT_LAGS = 1  # neighbours per block in the coarse table for faint blocks
WORK_SIDE = 1280
_MIX = np.array(
    [1, 1_000_003, 998_244_353, 2_147_483_647, 40_503, 1_299_709, 15_485_863, 32_452_843, 49_979_687, 67_867_967],
    dtype=np.int64,
)
_PROJECTION = np.random.default_rng(8).standard_normal((BLOCK, BLOCK)).astype(np.float32)
_ZIGZAG = [(0, 0), (0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0)]


@dataclass
class Clone:
    """A copied patch, in work-image pixels: ``target`` = ``source`` moved by ``offset``."""

    source: tuple[int, int, int, int]
    target: tuple[int, int, int, int]
    offset: tuple[int, int]
    blocks: int  # matched block pairs with this offset in the connected patch
    unique: float  # of those, the pairs whose blocks match at this offset only (no periodic structure)
    diff: float  # mean absolute pixel difference of the matched blocks (gray levels)
    flat: float = 0.0  # mean share of the matched blocks' pixels equal to all 8 neighbours (0 if not measured)


def work_gray(image: np.ndarray, work_side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """Gray copy reduced by a whole factor (so a copy moved by an even offset stays exact)."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    factor = max(1, int(np.ceil(max(gray.shape) / work_side)))
    if factor > 1:
        h, w = gray.shape
        gray = cv2.resize(
            gray[: h - h % factor, : w - w % factor], (w // factor, h // factor), interpolation=cv2.INTER_AREA
        )
    return gray, factor


def _dct_basis() -> np.ndarray:
    k = np.arange(BLOCK)
    basis = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / (2 * BLOCK)) * np.sqrt(2.0 / BLOCK)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


def block_features(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, 10) low-frequency DCT, block std (N,), block top-left (N, 2) as y, x, a random
    projection of the block's pixels (N,)) for every block at stride 1.

    Each DCT coefficient of every block at once is one correlation of the image with that basis
    function (cv2.filter2D anchored at the block's top-left), far cheaper than per-block transforms."""
    g = gray.astype(np.float32)
    hh, ww = g.shape[0] - BLOCK + 1, g.shape[1] - BLOCK + 1
    d = _dct_basis()
    feats = np.empty((hh * ww, len(_ZIGZAG)), np.float32)
    for k, (u, v) in enumerate(_ZIGZAG):
        kernel = np.outer(d[u], d[v]).astype(np.float32)
        feats[:, k] = cv2.filter2D(g, cv2.CV_32F, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[
            :hh, :ww
        ].ravel()
    mean = cv2.boxFilter(g, cv2.CV_32F, (BLOCK, BLOCK), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:hh, :ww]
    sq = cv2.boxFilter(g * g, cv2.CV_32F, (BLOCK, BLOCK), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:hh, :ww]
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0)).ravel()
    projection = cv2.filter2D(g, cv2.CV_32F, _PROJECTION, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:hh, :ww]
    ys, xs = np.divmod(np.arange(hh * ww), ww)
    return feats, std, np.stack([ys, xs], axis=1), projection.ravel()


def _bucket_pairs(
    keys: np.ndarray, by_projection: np.ndarray, lags: int, max_bucket: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of rows with equal keys: rows sorted by (key, projection), each paired with the next
    ``lags`` rows of its bucket (``by_projection``: the row indices sorted by the projection, so one
    stable sort by key gives that order). Small buckets give all their pairs; in bigger ones a block
    meets the blocks whose pixels project closest to its own. Buckets over ``max_bucket`` rows are a
    pattern the image repeats everywhere (a straight edge along its length), not a copy: skipped."""
    mixed = (keys.astype(np.int64) * _MIX[: keys.shape[1]]).sum(axis=1)[by_projection]  # one int64 per row (a hash)
    by_key = np.argsort(mixed, kind="stable")
    order, groups = by_projection[by_key], mixed[by_key]
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    sizes = np.diff(np.append(starts, len(groups)))
    small = np.repeat(sizes, sizes) <= max_bucket
    order, groups = order[small], groups[small]
    firsts, seconds = [], []
    for lag in range(1, lags + 1):
        same = groups[lag:] == groups[:-lag]
        firsts.append(order[:-lag][same])
        seconds.append(order[lag:][same])
    return np.concatenate(firsts), np.concatenate(seconds)


def find_clones(
    gray: np.ndarray,
    *,
    min_std: float = 1.5,
    step: float = 0.2,
    dc_step: float = 24.0,
    max_diff: float = 4.0,
    diff_ratio: float = 0.7,
    min_shift: float = 16.0,
    min_unique: float = 20.0,
    lags: int = 6,
    max_bucket: int = 64,
    shifts: tuple[float, ...] = (0.0, 0.5),
    jpeg_grid: bool = True,
    join: int = 8,
    self_ratio: float = 1.4,
    self_margin: float = 0.2,
    self_move: int = 4,
    max_flat: float = 0.25,
    exclude: np.ndarray | None = None,
    faint: float = 0.0,
) -> list[Clone]:
    """Copied patches in one gray image (work pixels).

    Blocks are hashed by their mean (``dc_step``) and their AC pattern normalised by the block's
    contrast (``step``), so faint texture hashes as finely as strong texture; two blocks match when
    their pixels differ by at most ``max_diff`` and by at most ``diff_ratio`` x their own standard
    deviation (two captures of similar texture differ by about 1.6 x their noise; a copy re-saved
    as JPEG differs only by the re-quantisation).

    ``jpeg_grid``: the image is at its stored resolution, so offsets that are multiples of 8 in both
    directions are skipped. JPEG gives identical content on the 8x8 grid identical artefacts, so
    repeated structures (PCB pads and tracks) match pixel for pixel exactly at such offsets; a
    copied patch carries its source's artefacts and matches at any offset (63 in 64 clone-stamps
    land off the grid in at least one direction; the others are missed).

    ``exclude``: pixels (a boolean mask of ``gray``'s shape) no matched block may contain."""
    if min(gray.shape) < 4 * BLOCK:
        return []
    feats, std, pos, projection = block_features(gray)
    # the most a pair's blocks may differ: ``max_diff`` and ``diff_ratio`` x either block's contrast;
    # and less than the first block changes when moved ``self_move`` pixels across or down (by
    # ``self_ratio`` x the difference + ``self_margin``): a straight edge or band barely changes along
    # its own line and matches anything there. A copy re-saved as JPEG differs from its source by 1-2
    # gray levels, about what faint texture changes over 2-3 pixels. Measured for every block at once.
    # Only the first block is moved: a block's matches elsewhere must still count against it below
    # (a block matching at several offsets is periodic structure).
    limit = np.minimum(max_diff, diff_ratio * std)
    still = np.minimum(shift_change(gray, self_move, 0), shift_change(gray, 0, self_move))
    self_limit = (still - self_margin) / self_ratio
    usable = std >= min_std  # straight edges stay in the buckets (a crowded bucket is a repeated pattern)
    if exclude is not None:
        hh, ww = gray.shape[0] - BLOCK + 1, gray.shape[1] - BLOCK + 1
        touched = cv2.boxFilter(
            exclude.astype(np.float32),
            cv2.CV_32F,
            (BLOCK, BLOCK),
            normalize=False,
            anchor=(0, 0),
            borderType=cv2.BORDER_CONSTANT,
        )[:hh, :ww].ravel()
        usable &= touched == 0
    textured = np.flatnonzero(usable)
    if len(textured) < min_unique:
        return []
    f = feats[textured]
    scaled = np.concatenate([f[:, :1] / dc_step, f[:, 1:] / (BLOCK * std[textured, None] * step)], axis=1)
    pairs_i, pairs_j = [], []
    by_projection = np.argsort(projection[textured], kind="stable")
    for shift in shifts:
        keys = np.floor(scaled + shift).astype(np.int32)
        i, j = _bucket_pairs(keys, by_projection, lags, max_bucket)
        pairs_i.append(textured[i])
        pairs_j.append(textured[j])
    if faint > 0.0:
        # faint texture (block std under ``faint``): a JPEG re-save's 1-2 gray levels move its contrast-
        # normalised pattern across the fine steps; one more table, twice as coarse, for those blocks
        weak = np.flatnonzero(std[textured] < faint)
        if len(weak) > 1:
            coarse = scaled[weak].copy()
            coarse[:, 1:] *= 0.5
            order = np.argsort(projection[textured[weak]], kind="stable")
            i, j = _bucket_pairs(np.floor(coarse + 0.25).astype(np.int32), order, FAINT_LAGS, max_bucket)
            pairs_i.append(textured[weak[i]])
            pairs_j.append(textured[weak[j]])
    i, j = np.concatenate(pairs_i), np.concatenate(pairs_j)
    delta = pos[j] - pos[i]
    keep = delta[:, 0] ** 2 + delta[:, 1] ** 2 >= min_shift**2
    if jpeg_grid:
        keep &= (delta[:, 0] % 8 != 0) | (delta[:, 1] % 8 != 0)
    i, j, delta = i[keep], j[keep], delta[keep]
    # the same pair can come from both hash tables: keep one
    keyed = np.unique(np.minimum(i, j).astype(np.int64) * len(pos) + np.maximum(i, j), return_index=True)[1]
    i, j, delta = i[keyed], j[keyed], delta[keyed]
    allowed = np.minimum(np.minimum(limit[i], limit[j]), self_limit[i])
    # two blocks differ on average by at least their means' difference (the DC coefficient is 8 x the mean)
    keep = np.abs(feats[i, 0] - feats[j, 0]) <= BLOCK * allowed + 1e-3
    i, j, delta, allowed = i[keep], j[keep], delta[keep], allowed[keep]
    # cheap pre-check on the low-frequency coefficients (Parseval: their distance is at most the
    # pixels' L2 distance, which for a mean difference of max_diff spread over the block is ~8 x it)
    apart = feats[i] - feats[j]
    near = np.einsum("ij,ij->i", apart, apart) <= (12.0 * max_diff) ** 2
    i, j, delta, allowed = i[near], j[near], delta[near], allowed[near]
    if len(i) < min_unique:
        return []
    # pixel-level check of the candidate pairs
    hh, ww = gray.shape[0] - BLOCK + 1, gray.shape[1] - BLOCK + 1
    blocks = np.lib.stride_tricks.sliding_window_view(gray, (BLOCK, BLOCK))  # a view: no copy of every block
    diff = _mean_abs(blocks, pos[i], pos[j])
    ok = diff <= allowed
    i, j, delta, diff = i[ok], j[ok], delta[ok], diff[ok]
    share = None
    if max_flat < 1.0:
        # a block largely made of one exact gray level (a painted hole, a clipped highlight) matches
        # every block with the same flat part and outline: its few other pixels decide nothing, and
        # the difference counts on those pixels only. A capture's content always has noise; only
        # binarised scans are flat areas and edges (max_flat = 1: not applied).
        share = flat_share(gray)
        flat = np.maximum(share[i], share[j])
        ok = (flat <= max_flat) & (diff <= max_diff * (1.0 - flat))
        i, j, delta, diff = i[ok], j[ok], delta[ok], diff[ok]
    # the same holds along the pair's offset (a move out of the image fails)
    length = np.hypot(delta[:, 0], delta[:, 1])
    moved = pos[i] + np.rint(self_move * delta / length[:, None]).astype(np.int64)
    keep = np.flatnonzero((moved[:, 0] >= 0) & (moved[:, 0] < hh) & (moved[:, 1] >= 0) & (moved[:, 1] < ww))
    d = _mean_abs(blocks, pos[i[keep]], moved[keep])
    keep = keep[d >= self_ratio * diff[keep] + self_margin]
    i, j, delta, diff = i[keep], j[keep], delta[keep], diff[keep]
    # canonical offset sign: a pair and its mirror vote for the same offset
    flip = (delta[:, 0] < 0) | ((delta[:, 0] == 0) & (delta[:, 1] < 0))
    i, j = np.where(flip, j, i), np.where(flip, i, j)
    delta = np.where(flip[:, None], -delta, delta)
    if len(i) < min_unique:
        return []
    # a block that matches at offsets more than 2 pixels apart (seen from the block: partner = block
    # + offset) is periodic structure (a row of pads, a thread): its matches do not count. A pasted
    # patch's blocks have one partner each (its source, or its copy).
    ends = np.concatenate([i, j])
    seen = np.concatenate([delta, -delta])
    blocks, local = np.unique(ends, return_inverse=True)  # only the blocks in a pair, not every block
    lo = np.full((len(blocks), 2), 1 << 20, np.int64)
    hi = np.full((len(blocks), 2), -(1 << 20), np.int64)
    np.minimum.at(lo, local, seen)
    np.maximum.at(hi, local, seen)
    spread = (hi - lo).max(axis=1)
    weight = ((spread[local[: len(i)]] <= 2) & (spread[local[len(i) :]] <= 2)).astype(np.float64)
    found: list[Clone] = []
    # offsets as one integer each (row-major, so the order is np.unique(delta, axis=0)'s, ~10x faster)
    span = int(max(gray.shape)) + 2
    codes = (delta[:, 0] + span) * (2 * span + 1) + (delta[:, 1] + span)
    unique_codes, inverse = np.unique(codes, return_inverse=True)
    offsets = np.stack([unique_codes // (2 * span + 1) - span, unique_codes % (2 * span + 1) - span], axis=1)
    votes = np.bincount(inverse.ravel(), weights=weight)
    for k in np.argsort(-votes)[:_MAX_OFFSETS]:
        if votes[k] < min_unique / 3:  # neighbouring offsets (+-1 pixel) may add the rest
            break
        sel = np.flatnonzero((np.abs(delta[:, 0] - offsets[k][0]) <= 1) & (np.abs(delta[:, 1] - offsets[k][1]) <= 1))
        patch = _largest_patch(pos[j[sel]], join)
        sel = sel[patch]
        unique = float(weight[sel].sum())
        if unique < min_unique:
            continue
        src, dst = pos[i[sel]], pos[j[sel]]
        clone = Clone(
            source=_box(src),
            target=_box(dst),
            offset=(int(offsets[k][1]), int(offsets[k][0])),
            blocks=len(sel),
            unique=unique,
            diff=float(diff[sel].mean()),
            flat=0.0 if share is None else float(np.maximum(share[i[sel]], share[j[sel]]).mean()),
        )
        if not any(_same(clone, c) for c in found):
            found.append(clone)
    return found


def shift_change(gray: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Per block (top-left order, as ``block_features``): the mean absolute difference between the block
    and the block ``dy``, ``dx`` >= 0 pixels further down and across (-1 where that one leaves the image)."""
    h, w = gray.shape
    hh, ww = h - BLOCK + 1, w - BLOCK + 1
    change = cv2.absdiff(gray[: h - dy, : w - dx], gray[dy:, dx:]).astype(np.float32)
    mean = cv2.boxFilter(change, cv2.CV_32F, (BLOCK, BLOCK), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    out = np.full((hh, ww), -1.0, np.float32)
    out[: hh - dy, : ww - dx] = mean[: hh - dy, : ww - dx]
    return out.ravel()


def flat_share(gray: np.ndarray) -> np.ndarray:
    """Per block (top-left order, as ``block_features``): the share of its pixels equal to all 8 neighbours."""
    kernel = np.ones((3, 3), np.uint8)
    flat = (cv2.dilate(gray, kernel) == cv2.erode(gray, kernel)).astype(np.float32)
    hh, ww = gray.shape[0] - BLOCK + 1, gray.shape[1] - BLOCK + 1
    return cv2.boxFilter(flat, cv2.CV_32F, (BLOCK, BLOCK), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[
        :hh, :ww
    ].ravel()


def _mean_abs(blocks: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Mean absolute difference of the blocks at top-lefts a[k] and b[k] (y, x) of ``blocks`` (the
    image's sliding-window view), in chunks to bound memory."""
    out = np.empty(len(a), np.float32)
    for start in range(0, len(a), chunk):
        sa, sb = a[start : start + chunk], b[start : start + chunk]
        pa, pb = blocks[sa[:, 0], sa[:, 1]], blocks[sb[:, 0], sb[:, 1]]
        out[start : start + chunk] = cv2.absdiff(pa, pb).reshape(len(sa), -1).sum(axis=1, dtype=np.uint16) / (
            BLOCK * BLOCK
        )
    return out


def _largest_patch(points: np.ndarray, join: int) -> np.ndarray:
    """Indices of the points forming the largest patch (block top-lefts closer than ``join`` pixels connect)."""
    top = points.min(axis=0) - join - 1
    points = points - top
    grid = np.zeros(tuple(points.max(axis=0) + join + 2), np.uint8)
    grid[points[:, 0], points[:, 1]] = 1
    grid = cv2.dilate(grid, np.ones((2 * join + 1, 2 * join + 1), np.uint8))
    n, labels = cv2.connectedComponents(grid, connectivity=8)
    if n <= 1:
        return np.zeros(0, np.int64)
    lab = labels[points[:, 0], points[:, 1]]
    best = np.bincount(lab, minlength=n)[1:].argmax() + 1
    return np.flatnonzero(lab == best)


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(points[:, 1].min()),
        int(points[:, 0].min()),
        int(points[:, 1].max()) + BLOCK,
        int(points[:, 0].max()) + BLOCK,
    )


def _same(a: Clone, b: Clone) -> bool:
    return abs(a.offset[0] - b.offset[0]) <= 2 and abs(a.offset[1] - b.offset[1]) <= 2
