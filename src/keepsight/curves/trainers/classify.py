"""Built-in image classifier on the describe stage's features: CPU only, nothing downloaded.

Each image becomes texture features (gray histogram, LBP at two scales, gradient orientations
and energy, the describe stage's statistics) plus a bag of ORB visual words whose vocabulary is
learned on the training subset only. A standardised, class-balanced logistic regression
(scikit-learn) classifies them.

Limits: global hand-made features see texture and brightness, not shape or position; small
defects on a large busy image barely move them. It is a baseline that shows how the data
behaves as it grows, not the accuracy a trained deep model would reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from keepsight.curves.items import CurveItem, Task
from keepsight.curves.trainers.base import PredictingTrainer, Progress
from keepsight.curves.trainers.features import bag_of_words, decode_gray, learn_vocabulary, texture_features
from keepsight.dataset import Dataset
from keepsight.descriptors import DescriptorStore, describe_digests, load_stats
from keepsight.errors import DatasetError

FEATURES_VERSION = 1


def describe_items(ds: Dataset, items: Sequence[CurveItem], progress: Progress | None) -> None:
    report = describe_digests(ds, (i.digest for i in items), progress=progress)
    if report.failed:
        digest, why = next(iter(report.failed.items()))
        raise DatasetError(f"{len(report.failed)} image(s) could not be described, e.g. blob {digest}: {why}")


class FeatureClassifier(PredictingTrainer):
    name = "features"
    task: Task = "classify"

    def __init__(self, *, side: int = 256, words: int = 48, c: float = 1.0) -> None:
        self.side, self.words, self.c = side, words, c
        self.fixed: dict[str, np.ndarray] = {}
        self.orb: dict[str, np.ndarray] = {}
        self.model: Pipeline | None = None
        self.only: str | None = None  # the one class of a single-class subset
        self.vocabulary = np.zeros((0, 256), np.float32)

    def params(self) -> dict[str, Any]:
        return {"version": FEATURES_VERSION, "side": self.side, "words": self.words, "C": self.c}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        describe_items(ds, items, progress)
        stats = load_stats(ds.engine)
        store = DescriptorStore.for_dataset(ds)
        digests = list(dict.fromkeys(i.digest for i in items))
        for n, digest in enumerate(digests, 1):
            gray = decode_gray(ds.blobs.get(digest), self.side)
            self.fixed[digest] = texture_features(gray, stats.get(digest, {}))
            self.orb[digest] = store.load(digest).descriptors
            if progress:
                progress(n, len(digests))

    def _matrix(self, items: Sequence[CurveItem]) -> np.ndarray:
        return np.stack([np.concatenate([self.fixed[i.digest], bag_of_words(self.orb[i.digest], self.vocabulary)])
                         for i in items])

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        labels = sorted({i.label for i in train})
        self.only = labels[0] if len(labels) == 1 else None
        if self.only is not None:
            return
        self.vocabulary = learn_vocabulary([self.orb[i.digest] for i in train], self.words, seed=seed)
        self.model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced", random_state=seed),
        )
        self.model.fit(self._matrix(train), [i.label for i in train])

    def predict(self, items: Sequence[CurveItem]) -> list[str]:
        if self.only is not None:
            return [self.only] * len(items)
        if self.model is None:
            raise DatasetError("the classifier is not trained")
        return [str(p) for p in self.model.predict(self._matrix(items))]
