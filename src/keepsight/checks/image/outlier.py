"""image.outlier: images unlike the rest of the dataset (a wrong part, a wrong scene, a stray photo).

Raw: each image's global descriptor, the VLAD vector the same-object engine indexes (ORB words, rotation
invariant, learned on this dataset; nothing downloaded). Score: the mean cosine distance to its k nearest
other images, as a robust z-score against the dataset (median/MAD). Threshold: a z-score and an absolute
distance floor, so a very uniform dataset does not turn tiny differences into outliers. A small cluster
of strays (three photos of the wrong part) stays visible as long as it is smaller than k.
"""

from __future__ import annotations

from typing import ClassVar

import faiss
import numpy as np
from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.checks.image.quality import robust_z
from keepsight.model.annotation import Sample
from keepsight.similarity.index import vlad_index


class OutlierParams(CheckParams):
    """``k`` 5: the distance to five neighbours is stable against one look-alike, and a stray cluster smaller
    than five stays an outlier. ``z`` 4.0, as in image.quality. ``min_distance`` 0.5: cosine distance of the
    VLAD vectors under which two images share most of their visual words, whatever the z-score says.
    ``min_keypoints`` 20: an image with fewer ORB keypoints has a VLAD vector made of noise (image.quality
    reports such featureless images). ``min_images`` 20: fewer images give no trustworthy median."""

    k: int = Field(5, ge=1, description="neighbours averaged")
    z: float = Field(4.0, gt=0, description="robust z-score of the neighbour distance that makes an outlier")
    min_distance: float = Field(0.5, ge=0, le=2, description="mean cosine distance an outlier must also exceed")
    min_keypoints: int = Field(20, ge=0, description="keypoints an image needs to be judged")
    min_images: int = Field(20, ge=3, description="images needed to judge at all")


class ImageOutlier(Check):
    id = "image.outlier"
    title = "Images unlike the rest"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "descriptors"})
    action = "look at the image: remove it if it shows another part or scene, or collect more like it if it is genuine"
    Params = OutlierParams
    params: OutlierParams

    def run(self, ctx: AuditContext) -> CheckResult:
        stats = ctx.stats
        holders: dict[str, list[Sample]] = {}
        for s in ctx.samples:
            if s.blob in stats:
                holders.setdefault(s.blob, []).append(s)
        judged = sorted(d for d in holders if int(stats[d]["keypoints"]) >= self.params.min_keypoints)
        if len(judged) < self.params.min_images:
            raise Skip(f"{len(judged)} images with enough keypoints; {self.params.min_images} needed")
        index = vlad_index(ctx.ds.root, sorted(holders), ctx.description)
        rows = np.array([index.row[d] for d in judged])
        vectors = np.ascontiguousarray(index.vectors[rows], dtype=np.float32)
        # Search among the judged images only: unjudged noise vectors are nobody's neighbour.
        search = faiss.IndexFlatIP(vectors.shape[1])
        search.add(vectors)
        k = min(self.params.k, len(judged) - 1)
        sims, nn = search.search(vectors, k + 1)
        own = nn == np.arange(len(judged))[:, None]
        own[own.sum(axis=1) == 0, -1] = True  # self lost among equal vectors: drop the farthest instead
        sims = sims[~own].reshape(len(judged), k)
        nn = nn[~own].reshape(len(judged), k)
        distance = 1.0 - sims.mean(axis=1)
        z = robust_z(distance)
        median = float(np.median(distance))
        findings: list[Finding] = []
        for i in np.argsort(-z):
            if z[i] < self.params.z or distance[i] < self.params.min_distance:
                continue
            samples = holders[judged[i]]
            findings.append(self.finding(
                f"unlike the rest of the dataset: mean distance {distance[i]:.2f} to its {k} most similar images "
                f"(median {median:.2f}, {z[i]:.1f} robust SDs above)",
                samples=[s.id for s in samples], paths=[s.path for s in samples],
                split="/".join(sorted({s.split for s in samples})), score=float(z[i]),
                evidence={"distance": round(float(distance[i]), 4), "median_distance": round(median, 4),
                          "robust_z": round(float(z[i]), 2), "digest": judged[i],
                          "nearest": [holders[judged[j]][0].path for j in nn[i]]},
            ))
        return self.result(findings, judged=len(judged), not_judged=len(holders) - len(judged),
                           median_distance=round(median, 4))
