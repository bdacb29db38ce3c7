"""Built-in anomaly detectors trained on good images only: CPU only, nothing downloaded.

* ``anomaly-knn`` (the default): PatchCore-like. Every good training image gives local patch
  vectors (brightness-normalised mean, spread and gradient energy of 8x8-pixel cells with their
  3x3 neighbourhood, on a gray decode at ``side`` pixels); they form a memory bank (randomly
  subsampled to ``bank`` vectors). An image's anomaly score is the largest distance of any of its
  patches to its nearest neighbour in the bank. Works on unaligned images (patches are compared
  wherever they are). Limits: hand-made patch features, not a pretrained network's, so subtle
  defects that change neither brightness nor texture go unseen; defects smaller than a cell at
  the decode size are blurred away.
* ``anomaly-global``: image-level nearest neighbour: each image is the feature classifier's
  texture vector (gray histogram, LBP, gradient orientations and energy, describe statistics),
  standardised on the good training images; the score is the distance to the nearest good
  image. Sees global changes (uneven brightness, texture), not a small local defect on an
  otherwise normal image.
* ``anomaly-template``: a golden template with a per-pixel Gaussian: images resized to
  ``side`` x ``side``, per-pixel mean and standard deviation of the good images; the score is
  the largest smoothed z-score. Only meaningful for **aligned** images (fixed camera, fixed
  part position); on unaligned images it measures misalignment, not defects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import faiss
import numpy as np
from sklearn.neighbors import NearestNeighbors

from keepsight.curves.items import CurveItem, Task
from keepsight.curves.trainers.base import PredictingTrainer, Progress
from keepsight.curves.trainers.classify import describe_items
from keepsight.curves.trainers.features import decode_gray, patch_features, texture_features
from keepsight.dataset import Dataset
from keepsight.descriptors import load_stats
from keepsight.errors import DatasetError, ImageError


class PatchKnnAnomaly(PredictingTrainer):
    name = "anomaly-knn"
    task: Task = "anomaly"

    def __init__(self, *, side: int = 192, cell: int = 8, bank: int = 40_000) -> None:
        self.side, self.cell, self.bank_size = side, cell, bank
        self.patches: dict[str, np.ndarray] = {}
        self.index: faiss.Index | None = None

    def params(self) -> dict[str, Any]:
        return {"version": 1, "side": self.side, "cell": self.cell, "bank": self.bank_size}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        digests = list(dict.fromkeys(i.digest for i in items))
        for n, digest in enumerate(digests, 1):
            try:
                self.patches[digest] = patch_features(decode_gray(ds.blobs.get(digest), self.side), self.cell)
            except ValueError as exc:
                raise ImageError(str(exc), element=f"blob {digest}") from None
            if progress:
                progress(n, len(digests))

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        bank = np.concatenate([self.patches[i.digest] for i in train])
        if len(bank) > self.bank_size:
            bank = bank[np.random.default_rng(seed).choice(len(bank), self.bank_size, replace=False)]
        index = faiss.IndexFlatL2(bank.shape[1])
        index.add(np.ascontiguousarray(bank, dtype=np.float32))
        self.index = index

    def predict(self, items: Sequence[CurveItem]) -> list[float]:
        if self.index is None:
            raise DatasetError("the anomaly model is not trained")
        patches = [self.patches[i.digest] for i in items]
        distances, _ = self.index.search(np.ascontiguousarray(np.concatenate(patches)), 1)  # one batched search
        nearest = np.sqrt(np.maximum(distances[:, 0], 0.0))
        bounds = np.cumsum([0] + [len(p) for p in patches])
        return [float(nearest[start:end].max()) for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


class GlobalKnnAnomaly(PredictingTrainer):
    name = "anomaly-global"
    task: Task = "anomaly"

    def __init__(self, *, side: int = 256, neighbours: int = 1) -> None:
        self.side, self.neighbours = side, neighbours
        self.vectors: dict[str, np.ndarray] = {}
        self.model: NearestNeighbors | None = None
        self.mean = self.scale = np.zeros(0, np.float32)

    def params(self) -> dict[str, Any]:
        return {"version": 1, "side": self.side, "neighbours": self.neighbours}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        describe_items(ds, items, progress)
        stats = load_stats(ds.engine)
        digests = list(dict.fromkeys(i.digest for i in items))
        for n, digest in enumerate(digests, 1):
            self.vectors[digest] = texture_features(decode_gray(ds.blobs.get(digest), self.side), stats.get(digest, {}))
            if progress:
                progress(n, len(digests))

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        x = np.stack([self.vectors[i.digest] for i in train])
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-6
        self.model = NearestNeighbors(n_neighbors=min(self.neighbours, len(x))).fit((x - self.mean) / self.scale)

    def predict(self, items: Sequence[CurveItem]) -> list[float]:
        if self.model is None:
            raise DatasetError("the anomaly model is not trained")
        x = np.stack([self.vectors[i.digest] for i in items])
        distances, _ = self.model.kneighbors((x - self.mean) / self.scale)
        return [float(d) for d in distances.mean(axis=1)]


class TemplateAnomaly(PredictingTrainer):
    name = "anomaly-template"
    task: Task = "anomaly"

    def __init__(self, *, side: int = 128, blur: float = 2.0) -> None:
        self.side, self.blur = side, blur
        self.images: dict[str, np.ndarray] = {}
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {"version": 1, "side": self.side, "blur": self.blur}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        digests = list(dict.fromkeys(i.digest for i in items))
        for n, digest in enumerate(digests, 1):
            gray = decode_gray(ds.blobs.get(digest), self.side * 2)
            self.images[digest] = cv2.resize(gray, (self.side, self.side), interpolation=cv2.INTER_AREA).astype(np.float32)
            if progress:
                progress(n, len(digests))

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        stack = np.stack([self.images[i.digest] for i in train])
        self.mean = stack.mean(0)
        # A floor on the spread: with few images, or flat regions, a tiny std would turn noise into anomalies.
        self.std = np.maximum(stack.std(0), 2.0 + 0.05 * float(stack.std()))

    def predict(self, items: Sequence[CurveItem]) -> list[float]:
        if self.mean is None or self.std is None:
            raise DatasetError("the template is not trained")
        scores = []
        for item in items:
            z = np.abs(self.images[item.digest] - self.mean) / self.std
            scores.append(float(cv2.GaussianBlur(z, (0, 0), self.blur).max()))
        return scores
