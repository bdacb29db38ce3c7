"""labels.suspect_class: regions whose appearance says another class.

Compute: the region features of :mod:`keepsight.checks.region_features`; out-of-fold class
probabilities from a standardised multinomial logistic regression, with folds grouped so that
every region of one object group (or, without a same-object engine result, of one image) lands
in one fold: a model never scores a region after seeing a copy of it. Score: cleanlab's label
quality (self-confidence: the out-of-fold probability of the given class). Threshold:
cleanlab's ``find_label_issues`` (pruning by the estimated noise rates of the confident joint)
decides which regions are issues; of those, findings are the ones whose best other class is
also the model's top choice.

The check refuses to judge when the classes do not separate by appearance at all: if the
out-of-fold balanced accuracy is below ``min_accuracy``, every "issue" would be the model's
error, not the annotator's, so the check is skipped with that reason.
"""

from __future__ import annotations

from typing import ClassVar, cast

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from pydantic import Field
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.checks.region_features import BLOCKS, Region, collect_regions, region_features


class SuspectClassParams(CheckParams):
    min_per_class: int = Field(10, ge=3, description="classes with fewer regions are left out of the classifier")
    folds: int = Field(5, ge=2, le=20, description="cross-validation folds (fewer when a class has fewer groups)")
    min_accuracy: float = Field(0.6, ge=0.0, le=1.0,
                                description="skip when the out-of-fold balanced accuracy is below this")
    max_quality: float = Field(0.5, ge=0.0, le=1.0,
                               description="report an issue only when the given class's probability is at most this")
    group_folds: bool = Field(True, description="group folds by same-object group (runs the similarity engine)")
    decode_fallback: bool = Field(True, description="decode images for regions with too few stored keypoints")
    seed: int = 0


class SuspectClass(Check):
    id = "labels.suspect_class"
    title = "Regions whose appearance says another class"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "descriptors", "similarity", "images"})
    action = "look at the region: relabel it to the suggested class, or keep it if the given class is right"
    Params = SuspectClassParams

    def run(self, ctx: AuditContext) -> CheckResult:
        p = cast(SuspectClassParams, self.params)
        regions = collect_regions(ctx)
        group_names = self._groups(ctx, regions, p.group_folds)
        counts: dict[str, int] = {}
        distinct: dict[str, set[str]] = {}
        for r, g in zip(regions, group_names, strict=True):
            counts[r.annotation.label] = counts.get(r.annotation.label, 0) + 1
            distinct.setdefault(r.annotation.label, set()).add(g)
        # a class needs regions from 2+ object groups, or no fold could train on it while testing it
        classes = sorted(c for c, n in counts.items() if n >= p.min_per_class and len(distinct[c]) >= 2)
        if len(classes) < 2:
            raise Skip(f"needs at least 2 classes with {p.min_per_class}+ regions on 2+ distinct objects; have "
                       f"{', '.join(f'{c}: {n}' for c, n in sorted(counts.items())) or 'no regions'}")
        group_of_region = {id(r): g for r, g in zip(regions, group_names, strict=True)}
        regions = [r for r in regions if r.annotation.label in classes]
        table = region_features(ctx, regions, decode_fallback=p.decode_fallback, seed=p.seed)
        regions = table.regions
        labels = np.array([classes.index(r.annotation.label) for r in regions])
        groups = np.unique(np.array([group_of_region[id(r)] for r in regions]), return_inverse=True)[1]
        probs = out_of_fold_probabilities(table.select(*BLOCKS), labels, groups, folds=p.folds, seed=p.seed)
        accuracy = float(balanced_accuracy_score(labels, probs.argmax(axis=1)))
        summary = {"regions": len(regions), "classes": len(classes), "balanced_accuracy": round(accuracy, 3),
                   "left_out_classes": sorted(set(counts) - set(classes)), **table.stats}
        if accuracy < p.min_accuracy:
            raise Skip(f"region appearance does not separate the classes (out-of-fold balanced accuracy "
                       f"{accuracy:.2f} < {p.min_accuracy}); labels cannot be judged from it")
        quality = get_label_quality_scores(labels, probs, method="self_confidence")
        issues = find_label_issues(labels, probs, filter_by="prune_by_noise_rate")
        findings: list[Finding] = []
        for i in np.flatnonzero(issues):
            other = probs[i].copy()
            other[labels[i]] = -1.0
            suggested = int(other.argmax())
            if quality[i] > p.max_quality or probs[i].argmax() != suggested:
                continue
            r = regions[i]
            top = np.argsort(-probs[i])[:3]
            findings.append(self.finding(
                f"region labelled {classes[labels[i]]!r} looks like {classes[suggested]!r} "
                f"(label quality {quality[i]:.2f})",
                samples=[r.sample.id], paths=[r.sample.path], annotations=[r.annotation.uid or ""],
                label=classes[labels[i]], split=r.sample.split, score=round(1.0 - float(quality[i]), 4),
                evidence={"box": [round(v, 1) for v in r.box], "given": classes[labels[i]],
                          "suggested": classes[suggested], "quality": round(float(quality[i]), 4),
                          "probabilities": {classes[k]: round(float(probs[i][k]), 4) for k in top},
                          "features": table.source[i]},
            ))
        findings.sort(key=lambda f: -(f.score or 0.0))
        return self.result(findings, suspect_regions=len(findings), **summary)

    @staticmethod
    def _groups(ctx: AuditContext, regions: list[Region], by_object: bool) -> list[str]:
        """Per region, its fold group: the same-object group of its image, or the image itself."""
        if by_object and regions:
            group_of = ctx.group_of
            return [group_of.get(r.sample.id, f"solo:{r.sample.id}") for r in regions]
        return [f"solo:{r.sample.id}" for r in regions]


def out_of_fold_probabilities(x: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, folds: int = 5,
                              seed: int = 0) -> np.ndarray:
    """(N, K) class probabilities, each predicted by a model that never saw the region's group.

    A class missing from a fold's training part (possible when a class has few groups) gets
    probability 0 there rather than failing the fold."""
    k = int(labels.max()) + 1
    per_class = [len(np.unique(groups[labels == c])) for c in range(k)]
    cv = StratifiedGroupKFold(n_splits=max(2, min(folds, min(per_class))), shuffle=True, random_state=seed)
    probs = np.zeros((len(labels), k), np.float64)
    for train, test in cv.split(x, labels, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
        model.fit(x[train], labels[train])
        probs[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
    return probs
