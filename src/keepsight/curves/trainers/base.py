"""The one small protocol every trainer follows: train on a list of items, predict on a list, report metrics.

``prepare`` runs once in the main process (describe images, decode pixels...) and leaves the
trainer self-contained and picklable; ``evaluate`` then runs per point, possibly in a worker
process, and must not touch the catalog. ``params`` names everything that changes its results:
it goes into the curve's fingerprint, so a changed trainer never reuses old points.

Built-in trainers subclass :class:`PredictingTrainer` and only write ``fit`` and ``predict``;
the metrics are computed by keepsight the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from keepsight.curves.items import CurveItem, Task
from keepsight.curves.metrics import Metrics, anomaly_metrics, classification_metrics
from keepsight.dataset import Dataset

Progress = Callable[[int, int], None]


@dataclass
class Evaluation:
    test: Metrics
    train: Metrics | None = None  # None when the task has no meaningful training score (anomaly)
    details: dict[str, Any] = field(default_factory=dict)


class Trainer(Protocol):
    name: str
    task: Task

    def params(self) -> dict[str, Any]: ...

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None: ...

    def evaluate(self, train: Sequence[CurveItem], test: Sequence[CurveItem], *, seed: int, workdir: Path,
                 metric: str) -> Evaluation: ...


class PredictingTrainer:
    """A trainer that fits a model in memory: classification predicts labels, anomaly predicts scores."""

    name = "predicting"
    task: Task = "classify"

    def params(self) -> dict[str, Any]:
        return {}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        return None

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        raise NotImplementedError

    def predict(self, items: Sequence[CurveItem]) -> list[str] | list[float]:
        """Labels (classify) or anomaly scores, higher = more anomalous (anomaly)."""
        raise NotImplementedError

    def evaluate(self, train: Sequence[CurveItem], test: Sequence[CurveItem], *, seed: int, workdir: Path,
                 metric: str) -> Evaluation:
        self.fit(train, seed=seed)
        if self.task == "anomaly":
            return Evaluation(test=anomaly_metrics(test, [float(s) for s in self.predict(test)]))
        train_pred = [str(p) for p in self.predict(train)]
        test_pred = [str(p) for p in self.predict(test)]
        return Evaluation(
            test=classification_metrics([i.label for i in test], test_pred, metric),
            train=classification_metrics([i.label for i in train], train_pred, metric),
        )
