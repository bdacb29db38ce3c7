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
from keepsight.descriptors.compute import Description
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


def _bag(descriptors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    hist = np.zeros(len(codebook), np.float64)
    if len(descriptors):
        x = vlad.unpack(descriptors)
        assign = np.argmin((codebook * codebook).sum(1)[None, :] - 2.0 * x @ codebook.T, axis=1)
        hist = np.bincount(assign, minlength=len(codebook)).astype(np.float64)
        hist = np.sqrt(hist / hist.sum())
    return hist


def _shade(desc: Description, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(region mean - image mean) / image std, and region std / image std, on the stored thumbnail."""
    thumb = cv2.imdecode(np.frombuffer(desc.thumbnail, np.uint8), cv2.IMREAD_GRAYSCALE) if desc.thumbnail else None
    if thumb is None or thumb.size == 0:
        return 0.0, 1.0
    sx, sy = thumb.shape[1] / desc.width, thumb.shape[0] / desc.height
    x1, y1 = int(box[0] * sx), int(box[1] * sy)
    x2, y2 = max(x1 + 1, int(math.ceil(box[2] * sx))), max(y1 + 1, int(math.ceil(box[3] * sy)))
    crop = thumb[y1:y2, x1:x2].astype(np.float64)
    spread = float(thumb.std()) or 1.0
    if crop.size == 0:
        return 0.0, 1.0
    return (float(crop.mean()) - float(thumb.mean())) / spread, float(crop.std()) / spread


def region_features(ctx: AuditContext, regions: list[Region] | None = None, *, words: int = WORDS,
                    min_keypoints: int = MIN_KEYPOINTS, decode_fallback: bool = True, seed: int = 0) -> RegionTable:
    """The feature table of ``regions`` (default: every region of the dataset)."""
    regions = collect_regions(ctx) if regions is None else regions
    failed = ctx.describe_failed  # images that cannot be described cannot be decoded either
    regions = [r for r in regions if r.sample.blob not in failed]
    by_sample: dict[int, list[int]] = {}
    for i, r in enumerate(regions):
        by_sample.setdefault(r.sample.id, []).append(i)
    descs: dict[str, Description] = {}
    picked: list[np.ndarray] = [np.zeros((0, 32), np.uint8)] * len(regions)
    boxes: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * len(regions)
    for idx in by_sample.values():
        sample = regions[idx[0]].sample
        if sample.blob not in descs:
            descs[sample.blob] = ctx.description(sample.blob)
        desc = descs[sample.blob]
        for i in idx:
            boxes[i] = grown(regions[i].box, desc.width, desc.height)
            picked[i] = desc.descriptors[inside(desc.keypoints, boxes[i])] if len(desc.keypoints) else picked[i]
    sparse = [i for i in range(len(regions)) if len(picked[i]) < min_keypoints]
    dense: dict[int, np.ndarray] = {}
    if decode_fallback and sparse:
        need: dict[int, list[int]] = {}
        for i in sparse:
            need.setdefault(regions[i].sample.id, []).append(i)
        for sid, idx in need.items():
            gray = ctx.image(ctx.by_id[sid], grayscale=True)
            for i in idx:
                dense[i] = dense_descriptors(gray, boxes[i])
    stored_sets = [picked[i] for i in range(len(regions)) if i not in dense and len(picked[i])]
    codebook = vlad.train_codebook(stored_sets + list(dense.values()), k=words, seed=seed)
    rows = []
    for i, r in enumerate(regions):
        desc = descs[r.sample.blob]
        x1, y1, x2, y2 = r.box
        w, h = x2 - x1, y2 - y1
        gx1, gy1, gx2, gy2 = boxes[i]
        n_kp = len(picked[i])
        kp_sizes = desc.keypoints[inside(desc.keypoints, boxes[i]), 2] if n_kp else np.zeros(0)
        stats = ctx.stats.get(r.sample.blob, {})
        shade = _shade(desc, r.box)
        rows.append(np.concatenate([
            [0.5 * math.log(w * h), (w * h) / float(desc.width * desc.height)],
            [math.log(w / h)],
            [math.log1p(n_kp), n_kp / max(1.0, (gx2 - gx1) * (gy2 - gy1)) * 1000.0,
             float(np.log(kp_sizes).mean()) if len(kp_sizes) else 0.0],
            list(shade),
            [float(stats.get(k) or 0.0) if k != "sharpness" else math.log1p(float(stats.get(k) or 0.0)) for k in _STATS],
            _bag(dense.get(i, picked[i]), codebook),
        ]))
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
