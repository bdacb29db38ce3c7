"""Image features for the built-in trainers, computed from the stored bytes and the describe stage.

* :func:`texture_features`: a fixed vector per image from a gray decode at ``side`` pixels:
  gray-level histogram, rotation-invariant uniform LBP histograms at two scales, a gradient
  orientation histogram and gradient-energy quantiles, plus the describe stage's statistics.
* :func:`bag_of_words`: ORB descriptors (describe stage) as a histogram of visual words; the
  vocabulary is learned per training subset, so the test images never shape it.
* :func:`patch_features`: local patch vectors (PatchCore-like memory banks for anomaly kNN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import faiss
import numpy as np

from keepsight.descriptors.compute import decode_reduced
from keepsight.descriptors.vlad import unpack

STAT_KEYS = ("brightness", "contrast", "p5", "p50", "p95", "sharpness", "noise", "colourfulness")
_LBP_BINS = 10  # rotation-invariant uniform LBP with 8 neighbours: 9 uniform codes + "other"


def decode_gray(data: bytes, side: int) -> np.ndarray:
    """A uint8 gray image whose long side is at most ``side`` (one reduced decode)."""
    pixels, *_ = decode_reduced(data, work_side=side)
    return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)


def _lbp_histogram(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.int16)
    center = g[1:-1, 1:-1]
    h, w = center.shape
    offsets = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]
    bits = np.stack([g[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] >= center for dy, dx in offsets]).astype(np.int8)
    ones = bits.sum(0)
    transitions = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(0)
    codes = np.where(transitions <= 2, ones, 9)  # uniform patterns: their number of ones; the rest: 9
    hist = np.bincount(codes.ravel(), minlength=_LBP_BINS).astype(np.float32)
    return hist / max(1.0, float(hist.sum()))


def texture_features(gray: np.ndarray, stats: dict[str, object]) -> np.ndarray:
    counts = cv2.calcHist([gray], [0], None, [16], [0, 256]).ravel()
    hist = counts / max(1.0, float(counts.sum()))
    half = cv2.resize(gray, (max(3, gray.shape[1] // 2), max(3, gray.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    angle = (np.arctan2(gy, gx) % math.pi) / math.pi  # orientation modulo 180 degrees, in [0, 1)
    weights = np.bincount(np.minimum((angle * 8).astype(np.int64), 7).ravel(), weights=mag.ravel(), minlength=8)
    orient = weights / max(1e-6, float(weights.sum()))
    contrast = float(gray.std()) + 1.0
    energy = np.percentile(mag, [50, 90, 99]) / contrast
    scalars = [float(str(stats.get(k, 0.0))) for k in STAT_KEYS]
    scalars[STAT_KEYS.index("sharpness")] = math.log1p(scalars[STAT_KEYS.index("sharpness")])
    return np.concatenate([hist, _lbp_histogram(gray), _lbp_histogram(half), orient, energy,
                           np.asarray(scalars, np.float32) / 100.0]).astype(np.float32)


def learn_vocabulary(descriptor_sets: Sequence[np.ndarray], k: int, *, seed: int, per_image: int = 60) -> np.ndarray:
    """k visual words (k, 256) from a sample of each image's ORB descriptors (bits as 0/1 floats)."""
    rng = np.random.default_rng(seed)
    parts = [d[rng.choice(len(d), min(per_image, len(d)), replace=False)] for d in descriptor_sets if len(d)]
    data = unpack(np.concatenate(parts)) if parts else np.zeros((0, 256), np.float32)
    k = max(2, min(k, len(data) // 4))
    if len(data) < k:
        return np.zeros((0, 256), np.float32)
    km = faiss.Kmeans(256, k, niter=15, seed=seed, verbose=False, min_points_per_centroid=1)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # a few thousand points: OpenMP threads only add contention
    try:
        km.train(np.ascontiguousarray(data))
    finally:
        faiss.omp_set_num_threads(threads)
    return np.asarray(km.centroids, np.float32)


def bag_of_words(descriptors: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """A square-rooted, L2-normalised histogram of the image's descriptors over the words."""
    hist = np.zeros(len(vocabulary), np.float32)
    if len(descriptors) and len(vocabulary):
        x = unpack(descriptors)
        words = np.argmin((vocabulary * vocabulary).sum(1)[None, :] - 2.0 * x @ vocabulary.T, axis=1)
        hist = np.bincount(words, minlength=len(vocabulary)).astype(np.float32)
        hist = np.sqrt(hist)
        hist /= max(1e-6, float(np.linalg.norm(hist)))
    return hist


def patch_features(gray: np.ndarray, cell: int = 8) -> np.ndarray:
    """(P, 36) patch vectors: per cell the mean, spread and gradient energy of the brightness-normalised
    image, each with its 3x3 cell neighbourhood (locally aware, like PatchCore's pooled features)."""
    g = gray.astype(np.float32)
    g = (g - float(g.mean())) / (float(g.std()) + 1.0)
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    rows, cols = g.shape[0] // cell, g.shape[1] // cell
    if rows < 3 or cols < 3:
        raise ValueError(f"image of {g.shape[1]}x{g.shape[0]} pixels is too small for {cell}-pixel patches")
    def pool(x: np.ndarray) -> np.ndarray:
        return x[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3))
    sq = pool(g * g)
    mean = pool(g)
    maps = np.stack([mean, np.sqrt(np.maximum(sq - mean * mean, 0.0)), pool(gx), pool(gy)], axis=-1)
    padded = np.pad(maps, ((1, 1), (1, 1), (0, 0)), mode="edge")
    neigh = [padded[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)]
    return np.concatenate(neigh, axis=-1).reshape(rows * cols, -1).astype(np.float32)
