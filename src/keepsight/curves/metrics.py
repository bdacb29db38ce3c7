"""Scores of one trained model on one list of items: higher is better, in [0, 1].

* classify: ``balanced_accuracy`` (mean per-class recall; the default, fair to rare classes),
  ``accuracy`` or ``macro_f1``; per class: recall.
* anomaly: ``auroc`` of the anomaly score, OK vs NG; per defect class: AUROC of OK vs that class.
* detect / segment: whatever the external trainer reports in ``metrics.json`` (e.g. mAP50).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, recall_score, roc_auc_score

from keepsight.curves.items import NG, OK, CurveItem
from keepsight.errors import DatasetError

CLASSIFY_METRICS = ("balanced_accuracy", "accuracy", "macro_f1")
ANOMALY_METRICS = ("auroc",)


@dataclass
class Metrics:
    score: float  # the curve's metric
    per_class: dict[str, float] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)  # every metric computed, by name

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "per_class": self.per_class, "values": self.values}

    @classmethod
    def from_dict(cls, body: dict[str, Any], *, where: str = "metrics") -> Metrics:
        try:
            score = float(body["score"])
            per_class = {str(k): float(v) for k, v in dict(body.get("per_class") or {}).items()}
            values = {str(k): float(v) for k, v in dict(body.get("values") or {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: expected {{'score': number, 'per_class': {{name: number}}}}, "
                               f"got {body!r} ({exc})") from None
        for name, value in [("score", score), *per_class.items()]:
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise DatasetError(f"{where}: {name} must be a number in [0, 1] (higher is better), got {value}")
        return cls(score, per_class, values)


def classification_metrics(truth: Sequence[str], predicted: Sequence[str], metric: str) -> Metrics:
    if metric not in CLASSIFY_METRICS:
        raise DatasetError(f"unknown classification metric {metric!r}; choose one of {', '.join(CLASSIFY_METRICS)}")
    classes = sorted(set(truth))
    y, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    values = {
        "accuracy": float(accuracy_score(y, p)),
        "balanced_accuracy": float(np.mean(recall_score(y, p, labels=classes, average=None, zero_division=0))),
        "macro_f1": float(f1_score(y, p, labels=classes, average="macro", zero_division=0)),
    }
    recalls = recall_score(y, p, labels=classes, average=None, zero_division=0)
    return Metrics(values[metric], {c: float(r) for c, r in zip(classes, recalls, strict=True)}, values)


def anomaly_metrics(items: Sequence[CurveItem], scores: Sequence[float]) -> Metrics:
    s = np.asarray(scores, dtype=np.float64)
    if len(s) != len(items) or not np.all(np.isfinite(s)):
        raise DatasetError("anomaly scores must be one finite number per test image")
    bad = np.array([i.label == NG for i in items])
    good = np.array([i.label == OK for i in items])
    if not bad.any() or not good.any():
        raise DatasetError("anomaly metrics need OK and NG images")
    keep = bad | good
    auroc = float(roc_auc_score(bad[keep], s[keep]))
    per_class: dict[str, float] = {}
    for defect in sorted({i.defect for i in items if i.label == NG and i.defect}):
        mask = good | np.array([i.label == NG and i.defect == defect for i in items])
        per_class[defect] = float(roc_auc_score(bad[mask], s[mask]))
    values = {"auroc": auroc, "average_precision": float(average_precision_score(bad[keep], s[keep]))}
    return Metrics(auroc, per_class, values)
