"""image.outlier: images unlike the rest of the dataset (a wrong part, a wrong scene, a stray photo).

Raw: an appearance signature per image from the describe stage's thumbnail (grey levels, edge strengths,
structure scales, surface texture, layout: see ``_appearance.py``), each dimension scaled by the dataset's
median and MAD. Score: the mean distance to the k nearest other images, as a robust z-score of its log
against the dataset. Threshold: that z-score. A small cluster of strays (three photos of the wrong part)
stays visible as long as it is smaller than k.

Why not the VLAD vectors of the same-object engine: ORB words describe keypoints, not scenes. On the
steel textures of NEU-DET, images of a PCB, a ball screw and magnetic tiles came out *closer* to the
dataset than its own images (docs/checks.md has the numbers).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from sklearn.neighbors import NearestNeighbors

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.checks.image._appearance import BLOCK_SIZES, BLOCKS, signature, standardised
from keepsight.checks.image.quality import robust_z
from keepsight.model.annotation import Sample

MIN_SPREAD = 0.1  # log-distance spread floor: at z = 4 an outlier is at least 1.8x farther than the median image


class OutlierParams(CheckParams):
    """``k`` 5: the distance to five neighbours is stable against one look-alike, and a stray cluster of up to
    four images stays an outlier. ``z`` 4.0: the highest z-score of a genuine image was 3.2 on NEU-DET, 4.4 on
    Magnetic-tile (a washed-out tile: its one finding) and 3.0 on DeepPCB, while photos from other datasets
    added to them scored 4.2-9.1 among the tiles and 9.2-11.4 among the PCBs (but only 1.7-6.7 among NEU's
    six very different steel textures). ``min_images`` 20: fewer images give no trustworthy median."""

    k: int = Field(5, ge=1, description="neighbours averaged")
    z: float = Field(4.0, gt=0, description="robust z-score of the log neighbour distance that makes an outlier")
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
        digests = sorted(holders)
        if len(digests) < self.params.min_images:
            raise Skip(f"{len(digests)} described images; {self.params.min_images} needed to tell what is unusual")
        rows = standardised([signature(ctx.description(d).thumbnail) for d in digests])
        k = min(self.params.k, len(digests) - 1)
        distances, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(rows).kneighbors(rows)
        # Column 0 is the image itself unless an identical signature came first; drop whichever is the image.
        own = neighbours == np.arange(len(digests))[:, None]
        own[~own.any(axis=1), -1] = True
        distances = distances[~own].reshape(len(digests), k)
        neighbours = neighbours[~own].reshape(len(digests), k)
        mean = distances.mean(axis=1)
        z = robust_z(np.log(mean + 1e-9), MIN_SPREAD)
        median = float(np.median(mean))
        findings: list[Finding] = []
        for i in np.argsort(-z):
            if z[i] < self.params.z:
                break
            samples = holders[digests[i]]
            parts = self._unusual_blocks(rows[i])
            findings.append(self.finding(
                f"unlike the rest of the dataset: {mean[i] / median:.1f}x farther from its {k} most similar images "
                f"than the typical image ({z[i]:.1f} robust SDs); most unusual in {', '.join(parts[:2])}",
                samples=[s.id for s in samples], paths=[s.path for s in samples],
                split="/".join(sorted({s.split for s in samples})), score=float(z[i]),
                evidence={"distance": round(float(mean[i]), 4), "median_distance": round(median, 4),
                          "robust_z": round(float(z[i]), 2), "digest": digests[i], "unusual_in": parts,
                          "nearest": [holders[digests[j]][0].path for j in neighbours[i]]},
            ))
        return self.result(findings, images=len(digests), median_distance=round(median, 4))

    @staticmethod
    def _unusual_blocks(row: np.ndarray) -> list[str]:
        """The signature blocks ordered by how far this image's values sit from the dataset's medians."""
        out, start = [], 0
        for block in BLOCKS:
            part = row[start:start + BLOCK_SIZES[block]]
            out.append((float(np.sqrt((part ** 2).sum())), block))
            start += BLOCK_SIZES[block]
        return [name for _, name in sorted(out, reverse=True)]
