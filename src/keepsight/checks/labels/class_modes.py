"""labels.class_modes: a class whose regions form two or more clearly separate appearance clusters.

Two defect types filed under one name (dents and scratches both called "damage") make a class
a model has to learn twice. Compute: per class, the region appearance features (words,
keypoints, shade and size of :mod:`keepsight.checks.region_features`; not the image-level
statistics, so two cameras or two lighting set-ups do not count as two kinds of defect, and not
the box's aspect ratio, which follows the angle of a slanted defect),
standardised within the class and reduced by PCA to the components carrying 90% of the
variance (at most ``max_components``). Gaussian mixtures with k = 1..``max_clusters`` are fitted
and k chosen by BIC. Score and threshold: when BIC prefers k >= 2, a split must also be *clear*:
a mean silhouette of at least ``min_silhouette``, every pair of clusters separated by Ashman's
D >= ``min_separation`` along the line joining their centres (D > 2 means two humps with a gap
between them), and every cluster holding ``min_cluster_share`` of the class. The largest k up to
BIC's choice whose mixture is clear is reported (BIC over-splits a non-Gaussian kind into
pieces that are not clear, while the real split beneath is). One class with natural, continuous
variation has no clear split and stays silent.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, ClassVar, cast

import numpy as np
from pydantic import Field
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.checks.region_features import Region, collect_regions, region_features

APPEARANCE = ("words", "keypoints", "shade", "size")


class ClassModesParams(CheckParams):
    min_regions: int = Field(20, ge=6, description="classes with fewer regions are not examined")
    max_clusters: int = Field(4, ge=2, le=8, description="the largest number of clusters tried per class")
    max_components: int = Field(8, ge=2, description="PCA components kept at most")
    min_silhouette: float = Field(0.5, ge=0.0, le=1.0, description="mean silhouette a split must reach")
    min_separation: float = Field(3.0, ge=0.0, description="Ashman's D every pair of clusters must reach")
    min_cluster_share: float = Field(0.1, gt=0.0, lt=0.5, description="smallest cluster, as a share of the class")
    examples: int = Field(12, ge=2, le=12, description="example regions listed in all (spread over the clusters)")
    decode_fallback: bool = Field(True, description="decode images for regions with too few stored keypoints")
    seed: int = 0


class ClassModes(Check):
    id = "labels.class_modes"
    title = "Classes made of separate kinds of regions"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "descriptors", "images"})
    action = "look at the clusters: if they are different defects, split the class in the label book and relabel"
    Params = ClassModesParams

    def run(self, ctx: AuditContext) -> CheckResult:
        p = cast(ClassModesParams, self.params)
        regions = collect_regions(ctx)
        counts: dict[str, int] = {}
        for r in regions:
            counts[r.annotation.label] = counts.get(r.annotation.label, 0) + 1
        classes = sorted(c for c, n in counts.items() if n >= p.min_regions)
        if not classes:
            raise Skip(f"no class has {p.min_regions}+ regions")
        table = region_features(ctx, [r for r in regions if r.annotation.label in classes],
                                decode_fallback=p.decode_fallback, seed=p.seed)
        x_all = table.select(*APPEARANCE)
        findings: list[Finding] = []
        examined: dict[str, dict[str, Any]] = {}
        for label in classes:
            idx = np.array([i for i, r in enumerate(table.regions) if r.annotation.label == label])
            split = find_modes(x_all[idx], p)
            examined[label] = {"regions": len(idx), "clusters": split.k, "silhouette": split.silhouette,
                               "separation": split.separation}
            if not split.clear:
                continue
            findings.append(self._finding(label, [table.regions[i] for i in idx], split, p.examples))
        return self.result(findings, split_classes=len(findings), classes_examined=len(classes), per_class=examined,
                           **table.stats)

    def _finding(self, label: str, regions: list[Region], split: Modes, examples: int) -> Finding:
        clusters = []
        shown: list[Region] = []
        for c in range(split.k):
            members = np.flatnonzero(split.assign == c)
            closest = members[np.argsort(split.distance[members])][:max(1, examples // split.k)]  # most typical
            picked = [regions[i] for i in closest]
            shown += picked
            clusters.append({"size": len(members), "examples": [
                {"sample": r.sample.id, "path": r.sample.path, "annotation": r.annotation.uid,
                 "box": [round(v, 1) for v in r.box]} for r in picked]})
        sizes = ", ".join(str(c["size"]) for c in clusters)
        return self.finding(
            f"class {label!r} splits into {split.k} clearly separate kinds of regions ({sizes} regions)",
            samples=list(dict.fromkeys(r.sample.id for r in shown)), paths=list(dict.fromkeys(r.sample.path for r in shown)),
            annotations=[r.annotation.uid or "" for r in shown], label=label, score=round(split.silhouette, 4),
            evidence={"clusters": clusters, "silhouette": round(split.silhouette, 4),
                      "separation": round(split.separation, 3), "bic_k": split.k,
                      "boxes_by_path": _boxes_by_path(shown)},
        )


def _boxes_by_path(regions: list[Region]) -> dict[str, list[list[float]]]:
    out: dict[str, list[list[float]]] = {}
    for r in regions:
        out.setdefault(r.sample.path, []).append([round(v, 1) for v in r.box])
    return out


class Modes:
    """The chosen clustering of one class and whether it is a clear split."""

    def __init__(self, k: int, assign: np.ndarray, distance: np.ndarray, silhouette: float = 0.0,
                 separation: float = 0.0, clear: bool = False) -> None:
        self.k, self.assign, self.distance = k, assign, distance
        self.silhouette, self.separation, self.clear = silhouette, separation, clear


def ashman_d(a: np.ndarray, b: np.ndarray) -> float:
    """Ashman's D of two point sets projected on the line joining their means."""
    axis = a.mean(axis=0) - b.mean(axis=0)
    norm = float(np.linalg.norm(axis))
    if norm == 0.0:
        return 0.0
    pa, pb = a @ axis / norm, b @ axis / norm
    spread = float(pa.var() + pb.var())
    return float(np.sqrt(2.0) * abs(pa.mean() - pb.mean()) / np.sqrt(spread)) if spread > 0 else float("inf")


def _split(y: np.ndarray, gm: GaussianMixture, p: ClassModesParams) -> Modes:
    assign = gm.predict(y)
    used = np.unique(assign)
    assign = np.searchsorted(used, assign)
    k = len(used)
    distance = np.linalg.norm(y - gm.means_[used][assign], axis=1)
    if k < 2:
        return Modes(1, assign, distance)
    sil = float(silhouette_score(y, assign))
    sep = min(ashman_d(y[assign == a], y[assign == b]) for a, b in combinations(range(k), 2))
    smallest = min(np.bincount(assign)) / len(y)
    clear = sil >= p.min_silhouette and sep >= p.min_separation and smallest >= p.min_cluster_share
    return Modes(k, assign, distance, sil, sep, clear)


def find_modes(x: np.ndarray, p: ClassModesParams) -> Modes:
    n = len(x)
    z = StandardScaler().fit_transform(x)
    z = z[:, np.std(z, axis=0) > 0]
    if z.shape[1] == 0:
        return Modes(1, np.zeros(n, int), np.zeros(n))
    pca = PCA(n_components=min(p.max_components, z.shape[1], n - 1), random_state=p.seed).fit(z)
    keep = max(2, int(np.searchsorted(np.cumsum(pca.explained_variance_ratio_), 0.9)) + 1)
    y = pca.transform(z)[:, :keep]
    fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-3, n_init=3, random_state=p.seed).fit(y)
            for k in range(1, min(p.max_clusters, n // 3) + 1)]
    best = int(np.argmin([gm.bic(y) for gm in fits]))
    if best == 0:
        return Modes(1, np.zeros(n, int), np.linalg.norm(y - y.mean(axis=0), axis=1))
    first = None
    for gm in fits[best:0:-1]:  # from BIC's k down to 2: the largest clear split
        split = _split(y, gm, p)
        first = first or split
        if split.clear:
            return split
    return first if first is not None else Modes(1, np.zeros(n, int), np.zeros(n))
