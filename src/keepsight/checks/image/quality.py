"""image.quality: blurred, under- or over-exposed, featureless images, and sizes or channel modes unlike the rest.

Everything comes from the describe stage's statistics (one reduced decode per image, stored in the
catalog): no pixel is read again. Each problem is a raw statistic, a score (a robust z-score against the
dataset: median and MAD, so the outliers themselves do not move the yardstick) and two thresholds: the
relative one catches images unlike their dataset, the absolute floor catches images that are bad
whatever the rest looks like (and works on a dataset that is bad throughout).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample

Stats = dict[str, Any]


class QualityParams(CheckParams):
    """Defaults, and why:

    * ``z`` 4.0: robust z-scores (median/MAD scaled to a standard deviation) beyond 4 happen for 6 in 100,000
      images of a normal population; real statistics have heavier tails, and 4 keeps a well-shot dataset quiet.
    * ``min_images`` 20: below that, the median and MAD of a dataset are too shaky for relative outliers; only
      the absolute floors apply.
    * ``blur_floor`` 0.02: sharpness relative to contrast (Laplacian variance / grey-level variance). A sharp
      edge gives about 0.5 and more; a Gaussian blur of sigma 4 on a textured image drops it below 0.02.
    * ``dark_p99`` 40 / ``bright_p1`` 215: when even the brightest 1% of pixels stay below 40 of 255, or the
      darkest 1% above 215, the exposure clipped the detail away.
    * ``min_contrast`` 2.0: a grey-level standard deviation under 2 is a blank frame (lens cap, empty belt).
    * ``dominant_share`` 0.9: a size or channel mode held by 90% of the images is the dataset's; the rest are
      reported (info), when the dataset has one.
    """

    z: float = Field(4.0, gt=0, description="robust z-score beyond which an image is unlike the rest")
    min_images: int = Field(20, ge=3, description="images needed before relative outliers are judged")
    blur_floor: float = Field(0.02, ge=0, description="sharpness / contrast² under which an image is blurred")
    dark_p99: float = Field(40.0, ge=0, le=255, description="99th grey-level percentile under which: too dark")
    bright_p1: float = Field(215.0, ge=0, le=255, description="1st grey-level percentile over which: too bright")
    min_contrast: float = Field(2.0, ge=0, description="grey-level standard deviation under which: no information")
    dominant_share: float = Field(0.9, gt=0.5, le=1, description="share that makes a size or mode the dataset's")


@dataclass(frozen=True)
class Metric:
    """One quality problem: the statistic judged against the dataset, the one judged against the absolute
    floor, and which direction is bad."""

    name: str
    what: str  # the problem in words
    relative: Callable[[Stats], float]
    absolute: Callable[[Stats], float]
    low_is_bad: bool
    floor: Callable[[QualityParams], float]
    log: bool = False  # judge the relative statistic on a log scale (sharpness and contrast are multiplicative)


def _relative_sharpness(st: Stats) -> float:
    return float(st["sharpness"]) / (float(st["contrast"]) ** 2 + 1e-6)


def _stat(key: str) -> Callable[[Stats], float]:
    return lambda st: float(st[key])


METRICS = (
    Metric("blur", "blurred", _relative_sharpness, _relative_sharpness, True, lambda p: p.blur_floor, log=True),
    Metric("dark", "under-exposed", _stat("brightness"), _stat("p99"), True, lambda p: p.dark_p99),
    Metric("bright", "over-exposed", _stat("brightness"), _stat("p1"), False, lambda p: p.bright_p1),
    Metric("low_information", "nearly uniform (low contrast)", _stat("contrast"), _stat("contrast"), True,
           lambda p: p.min_contrast, log=True),
)


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 MAD); zeros when the values do not vary."""
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    if mad <= 0:
        mad = 1.2533 * float(np.mean(np.abs(values - median)))  # half the values equal: mean deviation instead
    return (values - median) / mad if mad > 0 else np.zeros_like(values)


class ImageQuality(Check):
    id = "image.quality"
    title = "Blurred, badly exposed or odd images"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "descriptors"})
    action = "retake the image, or drop it if the part cannot be judged from it"
    Params = QualityParams
    params: QualityParams

    def run(self, ctx: AuditContext) -> CheckResult:
        stats = ctx.stats
        holders: dict[str, list[Sample]] = {}
        for s in ctx.samples:
            if s.blob in stats:
                holders.setdefault(s.blob, []).append(s)
        if not holders:
            raise Skip("no image could be described")
        digests = sorted(holders)
        relative = len(digests) >= self.params.min_images
        findings: list[Finding] = []
        counts: dict[str, int] = {}
        for metric in METRICS:
            rel = np.array([metric.relative(stats[d]) for d in digests])
            absolute = np.array([metric.absolute(stats[d]) for d in digests])
            z = robust_z(np.log10(np.maximum(rel, 1e-6)) if metric.log else rel) if relative else np.zeros(len(rel))
            floor = metric.floor(self.params)
            median = float(np.median(rel))
            for i, d in enumerate(digests):
                bad_z = -z[i] if metric.low_is_bad else z[i]
                past_floor = absolute[i] < floor if metric.low_is_bad else absolute[i] > floor
                if not past_floor and bad_z < self.params.z:
                    continue
                counts[metric.name] = counts.get(metric.name, 0) + 1
                why = f"{absolute[i]:.3g} is past the absolute limit {floor:g}" if past_floor else \
                    f"{bad_z:.1f} robust SDs from the median {median:.3g}"
                findings.append(self._finding(
                    holders[d], f"{metric.what} ({metric.name}: {why})", score=float(bad_z),
                    evidence={"problem": metric.name, "value": round(float(rel[i]), 4), "median": round(median, 4),
                              "robust_z": round(float(z[i]), 2), "floor_value": round(float(absolute[i]), 4),
                              "floor": floor, "past_floor": bool(past_floor), "digest": d},
                ))
        findings += self._odd_ones(digests, holders, stats, counts)
        return self.result(findings, images=len(digests), relative_tests=relative, problems=counts)

    def _odd_ones(self, digests: list[str], holders: dict[str, list[Sample]], stats: dict[str, Stats],
                  counts: dict[str, int]) -> list[Finding]:
        """Sizes and channel modes held by a few images when one value dominates the dataset."""
        out: list[Finding] = []
        for name, key in (("size", lambda st: f"{st['width']}x{st['height']}"), ("mode", lambda st: str(st["mode"]))):
            values = {d: key(stats[d]) for d in digests}
            common, n = Counter(values.values()).most_common(1)[0]
            if n / len(digests) < self.params.dominant_share or n == len(digests):
                continue
            for d, v in values.items():
                if v == common:
                    continue
                counts[name] = counts.get(name, 0) + 1
                out.append(self._finding(
                    holders[d], f"{name} {v} unlike the rest of the dataset ({n / len(digests):.0%} are {common})",
                    severity="info", score=-math.log10(1.0 - n / len(digests) + 1e-9),
                    evidence={"problem": name, "value": v, "dominant": common, "dominant_share": round(n / len(digests), 4),
                              "digest": d},
                    action=f"check that the image comes from the same camera; convert or resize it to {common} if so",
                ))
        return out

    def _finding(self, samples: list[Sample], message: str, *, score: float, evidence: dict[str, Any],
                 severity: Severity | None = None, action: str | None = None) -> Finding:
        return self.finding(message, severity=severity, samples=[s.id for s in samples],
                            paths=[s.path for s in samples], split="/".join(sorted({s.split for s in samples})),
                            score=score, evidence=evidence, action=action or self.action)
