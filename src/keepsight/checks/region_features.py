"""Appearance features of every annotated region, shared by the learned label checks.

``labels.suspect_class`` and ``labels.class_modes`` need one fixed-length vector per region. It
is built from what the describe stage already stored, so most regions cost no decode:

* **words** (``WORDS`` columns): a bag of visual words of the ORB keypoints inside the region's
  box grown by ``CONTEXT`` of its size (at least ``MIN_SIDE`` pixels), over a codebook learned
  on the dataset's own region keypoints (k-means, FAISS, seeded): Hellinger-normalised counts.
  VLAD would be 256 times longer per word; for a classifier fitted on a few hundred to a few
  thousand regions a short histogram over-fits less.
* **keypoints**: how many keypoints fall in the region (log), their density and mean log size.
* **size**: log of the box's geometric-mean side and the share of the image it covers;
  **shape**: the log aspect ratio (kept apart: a box around a slanted line changes its aspect with
  the angle, which says nothing about the kind of defect).
* **shade**: the region's mean and spread of gray level relative to the whole image, read from
  the stored 128-pixel thumbnail (a dark pit and a bright scratch differ even when both are tiny).
* **image**: the image's brightness, contrast, log sharpness, noise and colourfulness.

Fallback: a region with fewer than ``MIN_KEYPOINTS`` stored keypoints (small boxes on large
images; the describe stage keeps at most 500 keypoints per image) is described by decoding its
image once (``AuditContext.image``) and computing ORB descriptors on a dense grid over the crop
resized to ``DENSE_SIDE`` pixels, then counted against the same codebook: the same feature
space, so both kinds of regions can sit in one classifier. ``RegionTable.source`` records which
regions took which path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from keepsight.checks.context import AuditContext
from keepsight.descriptors import vlad
from keepsight.model.annotation import Annotation, Sample

WORDS = 32
CONTEXT = 0.25
MIN_SIDE = 32.0
MIN_KEYPOINTS = 5
DENSE_SIDE = 96
DENSE_STEP = 12
_STATS = ("brightness", "contrast", "sharpness", "noise", "colourfulness")
BLOCKS = ("size", "shape", "keypoints", "shade", "image", "words")


@dataclass
class Region:
    sample: Sample
    annotation: Annotation
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original pixels


@dataclass
class RegionTable:
    regions: list[Region]
    features: np.ndarray  # float64 (N, D)
    columns: dict[str, slice]  # block name -> its columns
    source: list[str]  # per region: "stored" (ORB keypoints of the describe stage) or "decoded" (dense ORB on the crop)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [r.annotation.label for r in self.regions]

    def select(self, *blocks: str) -> np.ndarray:
        return np.concatenate([self.features[:, self.columns[b]] for b in blocks], axis=1)


def collect_regions(ctx: AuditContext) -> list[Region]:
    """Every region annotation with a box of positive size (degenerate ones are geometry.invalid's)."""
    out: list[Region] = []
    for s in ctx.samples:
        for a in ctx.regions(s.id):
            bounds = a.geometry.bounds()
            if bounds is None:
                continue
            x1, y1, x2, y2 = (float(v) for v in bounds)
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 - x1 < 1 or y2 - y1 < 1:
                continue
            out.append(Region(s, a, (x1, y1, x2, y2)))
    return out


def grown(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The region's box grown by CONTEXT of its size on each side (to MIN_SIDE at least), clipped to the image."""
    x1, y1, x2, y2 = box
    pad_x = max((x2 - x1) * CONTEXT, (MIN_SIDE - (x2 - x1)) / 2, 0.0)
    pad_y = max((y2 - y1) * CONTEXT, (MIN_SIDE - (y2 - y1)) / 2, 0.0)
    return (max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y)),
            min(width, int(math.ceil(x2 + pad_x))), min(height, int(math.ceil(y2 + pad_y))))


def inside(keypoints: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y = keypoints[:, 0], keypoints[:, 1]
    return np.flatnonzero((x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3]))


_ORB = cv2.ORB.create(edgeThreshold=15, patchSize=31)


def dense_descriptors(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """ORB descriptors on a regular grid over the crop, resized to DENSE_SIDE (uint8, (n, 32))."""
    x1, y1, x2, y2 = box
    crop = gray[y1:y2, x1:x2]
    if crop.size == 0:
        return np.zeros((0, 32), np.uint8)
    scale = DENSE_SIDE / max(crop.shape)
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pad = 20  # ORB needs the whole 31-pixel patch around a keypoint
    padded = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    kps = [cv2.KeyPoint(float(pad + x), float(pad + y), 31.0)
           for y in range(DENSE_STEP // 2, crop.shape[0], DENSE_STEP)
           for x in range(DENSE_STEP // 2, crop.shape[1], DENSE_STEP)]
    _, des = _ORB.compute(padded, kps)
    return des if des is not None else np.zeros((0, 32), np.uint8)


def _bags(sets: list[np.ndarray], codebook: np.ndarray, chunk: int = 16_384) -> np.ndarray:
    """(len(sets), k) Hellinger-normalised word counts: every descriptor assigned to its nearest word in a few
    large matrix products (one per ``chunk`` descriptors) rather than one small product per region."""
    k = len(codebook)
    hist = np.zeros((len(sets), k), np.float64)
    owners = np.repeat(np.arange(len(sets)), [len(d) for d in sets])
    if not len(owners):
        return hist
    data = np.concatenate([d for d in sets if len(d)])
    norms = (codebook * codebook).sum(1)[None, :]
    assign = np.empty(len(data), np.int64)
    for start in range(0, len(data), chunk):
        x = vlad.unpack(data[start:start + chunk])
        assign[start:start + chunk] = np.argmin(norms - 2.0 * x @ codebook.T, axis=1)
    hist = np.bincount(owners * k + assign, minlength=len(sets) * k).reshape(len(sets), k).astype(np.float64)
    totals = hist.sum(axis=1, keepdims=True)
    return np.sqrt(np.divide(hist, totals, out=np.zeros_like(hist), where=totals > 0))


def _shade(thumb: np.ndarray | None, width: int, height: int, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(region mean - image mean) / image std, and region std / image std, on the stored thumbnail."""
    if thumb is None or thumb.size == 0:
        return 0.0, 1.0
    sx, sy = thumb.shape[1] / width, thumb.shape[0] / height
    x1, y1 = int(box[0] * sx), int(box[1] * sy)
    x2, y2 = max(x1 + 1, int(math.ceil(box[2] * sx))), max(y1 + 1, int(math.ceil(box[3] * sy)))
    crop = thumb[y1:y2, x1:x2].astype(np.float64)
    spread = float(thumb.std()) or 1.0
    if crop.size == 0:
        return 0.0, 1.0
    return (float(crop.mean()) - float(thumb.mean())) / spread, float(crop.std()) / spread


@dataclass
class _Stored:
    """What one region takes from its image's stored description (computed once per audit, then reused)."""

    box: tuple[int, int, int, int]  # the grown box, in image pixels
    descriptors: np.ndarray  # the stored ORB descriptors inside the grown box
    fixed: np.ndarray  # the size, shape, keypoints, shade and image blocks (everything but the words)


_RegionKey = tuple[int, str | None, tuple[float, float, float, float]]


def _key(r: Region) -> _RegionKey:
    return (r.sample.id, r.annotation.uid, r.box)


def _stored_parts(ctx: AuditContext, regions: list[Region]) -> dict[_RegionKey, _Stored]:
    """Per region, its stored-keypoint part; each image's description is loaded once per audit, shared by
    every check that asks (``labels.suspect_class`` and ``labels.class_modes``), and not kept afterwards."""
    cache: dict[_RegionKey, _Stored] = ctx.shared("region_features.stored", dict)
    by_sample: dict[int, list[Region]] = {}
    for r in regions:
        if _key(r) not in cache:
            by_sample.setdefault(r.sample.id, []).append(r)
    for todo in by_sample.values():
        sample = todo[0].sample
        desc = ctx.description(sample.blob)
        stats = ctx.stats.get(sample.blob, {})
        image = [float(stats.get(k) or 0.0) if k != "sharpness" else math.log1p(float(stats.get(k) or 0.0))
                 for k in _STATS]
        thumb = cv2.imdecode(np.frombuffer(desc.thumbnail, np.uint8), cv2.IMREAD_GRAYSCALE) if desc.thumbnail else None
        for r in todo:
            box = grown(r.box, desc.width, desc.height)
            chosen = inside(desc.keypoints, box) if len(desc.keypoints) else np.zeros(0, np.int64)
            picked = desc.descriptors[chosen] if len(chosen) else np.zeros((0, 32), np.uint8)
            x1, y1, x2, y2 = r.box
            w, h = x2 - x1, y2 - y1
            n_kp = len(picked)
            kp_sizes = desc.keypoints[chosen, 2] if n_kp else np.zeros(0)
            fixed = np.array([
                0.5 * math.log(w * h), (w * h) / float(desc.width * desc.height),
                math.log(w / h),
                math.log1p(n_kp), n_kp / max(1.0, (box[2] - box[0]) * (box[3] - box[1])) * 1000.0,
                float(np.log(kp_sizes).mean()) if len(kp_sizes) else 0.0,
                *_shade(thumb, desc.width, desc.height, r.box),
                *image,
            ], dtype=np.float64)
            cache[_key(r)] = _Stored(box, picked, fixed)
    return cache


def _dense_parts(ctx: AuditContext, regions: list[Region], boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """Dense ORB descriptors of ``regions``: each image decoded at most once per audit (results are shared)."""
    cache: dict[_RegionKey, np.ndarray] = ctx.shared("region_features.dense", dict)
    need: dict[int, list[int]] = {}
    for i, r in enumerate(regions):
        if _key(r) not in cache:
            need.setdefault(r.sample.id, []).append(i)
    for sid, idx in need.items():
        gray = ctx.image(ctx.by_id[sid], grayscale=True)
        for i in idx:
            cache[_key(regions[i])] = dense_descriptors(gray, boxes[i])
    return [cache[_key(r)] for r in regions]


def region_features(ctx: AuditContext, regions: list[Region] | None = None, *, words: int = WORDS,
                    min_keypoints: int = MIN_KEYPOINTS, decode_fallback: bool = True, seed: int = 0) -> RegionTable:
    """The feature table of ``regions`` (default: every region of the dataset). Computed once per audit for
    the same regions and settings: a second check asking for it gets the same table."""
    regions = collect_regions(ctx) if regions is None else regions
    failed = ctx.describe_failed  # images that cannot be described cannot be decoded either
    regions = [r for r in regions if r.sample.blob not in failed]
    key = ("region_features.table", tuple(_key(r) for r in regions), words, min_keypoints, decode_fallback, seed)
    table: RegionTable = ctx.shared(key, lambda: _table(ctx, regions, words, min_keypoints, decode_fallback, seed))
    return table


def _table(ctx: AuditContext, regions: list[Region], words: int, min_keypoints: int, decode_fallback: bool,
           seed: int) -> RegionTable:
    stored = _stored_parts(ctx, regions)
    parts = [stored[_key(r)] for r in regions]
    sparse = [i for i, part in enumerate(parts) if len(part.descriptors) < min_keypoints] if decode_fallback else []
    # grouped by image in first-seen order, as the codebook's training sets are ordered
    first_seen: dict[int, int] = {}
    for i in sparse:
        first_seen.setdefault(regions[i].sample.id, len(first_seen))
    sparse.sort(key=lambda i: (first_seen[regions[i].sample.id], i))
    dense = dict(zip(sparse, _dense_parts(ctx, [regions[i] for i in sparse], [parts[i].box for i in sparse]),
                     strict=True))
    stored_sets = [part.descriptors for i, part in enumerate(parts) if i not in dense and len(part.descriptors)]
    codebook = vlad.train_codebook(stored_sets + list(dense.values()), k=words, seed=seed)
    bags = _bags([dense.get(i, part.descriptors) for i, part in enumerate(parts)], codebook)
    rows = [np.concatenate([part.fixed, bags[i]]) for i, part in enumerate(parts)]
    sizes = {"size": 2, "shape": 1, "keypoints": 3, "shade": 2, "image": len(_STATS), "words": words}
    columns, start = {}, 0
    for name in BLOCKS:
        columns[name] = slice(start, start + sizes[name])
        start += sizes[name]
    features = np.array(rows, dtype=np.float64).reshape(len(regions), start)
    source = ["decoded" if i in dense else "stored" for i in range(len(regions))]
    return RegionTable(regions, features, columns, source, {
        "regions": len(regions), "stored": source.count("stored"), "decoded": len(dense),
        "images_decoded": len({regions[i].sample.id for i in dense})})
