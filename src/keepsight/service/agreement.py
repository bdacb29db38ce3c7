"""Agreement between annotators who labelled the same images blind.

Regions: every pair of annotators of an image is matched one-to-one (Hungarian, IoU >=
threshold, same class); per class and per annotator the agreement is the F1 of the pairs,
``2 * matched / (regions of one + regions of the other)``, summed over pairs and images,
with the mean IoU of the matched regions. Tags: Fleiss' kappa per tag class (present /
absent, any number of raters per image) and, per annotator, the mean Cohen's kappa
against each other annotator (scikit-learn).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score

from keepsight.model.annotation import Annotation
from keepsight.service.matching import ClassCounts, compare, tags

Copies = Mapping[int, Mapping[str, Sequence[Annotation]]]  # sample id -> annotator -> their annotations


def fleiss_kappa(table: np.ndarray) -> float | None:
    """Fleiss' kappa of an items x categories table of rater counts (items with < 2 raters ignored).

    None when it is undefined: no item has two raters, or every rating fell in one category.
    """
    counts = np.asarray(table, dtype=np.float64)
    raters = counts.sum(axis=1)
    keep = raters >= 2
    counts, raters = counts[keep], raters[keep]
    if len(counts) == 0:
        return None
    p_category = counts.sum(axis=0) / raters.sum()
    p_item = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    expected = float((p_category**2).sum())
    if expected >= 1.0 - 1e-12:
        return None
    return (float(p_item.mean()) - expected) / (1.0 - expected)


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two raters' labels; None when undefined (a single label used by both)."""
    if len(a) == 0 or len(set(a) | set(b)) < 2:
        return None
    return float(cohen_kappa_score(a, b))


def _row(counts: ClassCounts) -> dict[str, Any]:
    return {"matched": counts.matched, "regions": counts.left + counts.right, "agreement": counts.agreement,
            "mean_iou": counts.mean_iou}


@dataclass
class AgreementReport:
    samples: int
    per_class: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_annotator: dict[str, dict[str, Any]] = field(default_factory=dict)
    overall: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "per_class": self.per_class, "per_annotator": self.per_annotator,
                "overall": self.overall}


def agreement(copies: Copies, *, threshold: float, tolerance: float) -> AgreementReport:
    by_class: dict[str, ClassCounts] = defaultdict(ClassCounts)
    by_user: dict[str, ClassCounts] = defaultdict(ClassCounts)
    user_samples: dict[str, int] = defaultdict(int)
    total = ClassCounts()
    used = 0
    for per_user in copies.values():
        if len(per_user) < 2:
            continue
        used += 1
        for user in per_user:
            user_samples[user] += 1
        for u, v in combinations(sorted(per_user), 2):
            pair = ClassCounts()
            for label, counts in compare(per_user[u], per_user[v], threshold=threshold, tolerance=tolerance).items():
                by_class[label].add(counts)
                pair.add(counts)
            total.add(pair)
            by_user[u].add(pair)
            by_user[v].add(pair)
    report = AgreementReport(samples=used, overall=_row(total))
    kappas = _tag_kappas(copies)
    for label, counts in sorted(by_class.items()):
        report.per_class[label] = _row(counts) | {"fleiss_kappa": kappas.get(label)}
    user_kappa = _user_kappas(copies)
    for user, counts in sorted(by_user.items()):
        report.per_annotator[user] = _row(counts) | {"samples": user_samples[user], "cohen_kappa": user_kappa.get(user)}
    return report


def _tag_classes(copies: Copies) -> list[str]:
    return sorted({label for per_user in copies.values() for anns in per_user.values() for label in tags(anns)})


def _tag_kappas(copies: Copies) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for label in _tag_classes(copies):
        table = [[sum(label in tags(a) for a in per_user.values()), sum(label not in tags(a) for a in per_user.values())]
                 for per_user in copies.values() if len(per_user) >= 2]
        out[label] = fleiss_kappa(np.asarray(table)) if table else None
    return out


def _user_kappas(copies: Copies) -> dict[str, float | None]:
    classes = _tag_classes(copies)
    if not classes:
        return {}
    users = sorted({u for per_user in copies.values() for u in per_user})
    out: dict[str, float | None] = {}
    for user in users:
        values = []
        for other in users:
            if other == user:
                continue
            mine: list[int] = []
            theirs: list[int] = []
            for per_user in copies.values():
                if user in per_user and other in per_user:
                    a, b = tags(per_user[user]), tags(per_user[other])
                    mine += [int(c in a) for c in classes]
                    theirs += [int(c in b) for c in classes]
            kappa = cohen_kappa(mine, theirs)
            if kappa is not None:
                values.append(kappa)
        out[user] = float(np.mean(values)) if values else None
    return out
