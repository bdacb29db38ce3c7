"""image.quality: blurred, under- or over-exposed, featureless images, and sizes or channel modes unlike the rest.

Everything comes from the describe stage's statistics (one reduced decode per image, stored in the
catalog): no pixel is read again. Each problem is a raw statistic, a score (a robust z-score against the
dataset: median and MAD, so the outliers themselves do not move the yardstick) and two thresholds: the
relative one catches images unlike their dataset, the absolute floor catches images that are bad
whatever the rest looks like (and works on a dataset that is bad throughout). One finding per image
lists every problem it has.
"""

from __future__ import annotations

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
      The spread used is never below a per-statistic minimum (see ``METRICS``), so a very uniform dataset
      does not turn small differences into outliers.
    * ``min_images`` 20: below that, the median and MAD are too shaky for relative outliers; only the
      absolute floors apply.
    * ``blur_floor`` 0.002: sharpness relative to contrast (Laplacian variance / grey-level variance). Sharp
      images of the real datasets we tried (steel, tiles, PCBs, ball screws) measure 0.024 and more; a Gaussian
      blur of sigma 2 takes most of them under 0.002.
    * ``dark_p99`` 40 / ``bright_p1`` 215: when even the brightest 1% of pixels stay below 40 of 255, or the
      darkest 1% above 215, the exposure (or a blank frame) left almost nothing to see.
    * ``min_contrast`` 2.0: a grey-level standard deviation under 2 is a blank frame (lens cap, empty belt).
    * ``dominant_share`` 0.9: a size or channel mode held by 90% of the images is the dataset's; the rest are
      reported (info), when the dataset has one.
    """

    z: float = Field(4.0, gt=0, description="robust z-score beyond which an image is unlike the rest")
    min_images: int = Field(20, ge=3, description="images needed before relative outliers are judged")
    blur_floor: float = Field(0.002, ge=0, description="sharpness / contrast² under which an image is blurred")
    dark_p99: float = Field(40.0, ge=0, le=255, description="99th grey-level percentile under which: too dark")
    bright_p1: float = Field(215.0, ge=0, le=255, description="1st grey-level percentile over which: too bright")
    min_contrast: float = Field(2.0, ge=0, description="grey-level standard deviation under which: no information")
    dominant_share: float = Field(0.9, gt=0.5, le=1, description="share that makes a size or mode the dataset's")


@dataclass(frozen=True)
class Metric:
    """One quality problem: the statistic judged against the dataset (``relative``, on a log scale when
    ``log``), the one judged against the absolute floor, the bad direction, and the smallest spread (in the
    relative statistic's units) the robust z-score divides by."""

    name: str
    what: str  # the problem in words
    relative: Callable[[Stats], float]
    absolute: Callable[[Stats], float]
    low_is_bad: bool
    floor: Callable[[QualityParams], float]
    min_spread: float
    log: bool = False


def _relative_sharpness(st: Stats) -> float:
    return float(st["sharpness"]) / (float(st["contrast"]) ** 2 + 1e-6)


def _stat(key: str) -> Callable[[Stats], float]:
    return lambda st: float(st[key])


# Minimum spreads (the smallest standard deviation a z-score divides by): within one camera set-up sharpness
# and contrast vary by a factor of 1.6 and 1.4 (log10 0.2 and 0.15) and brightness by 10 grey levels, so at
# z = 4 an image must be 6x less sharp, 4x less contrasted or 40 grey levels off to be unlike the rest.
METRICS = (
    Metric("blur", "blurred", _relative_sharpness, _relative_sharpness, True, lambda p: p.blur_floor, 0.2, True),
    Metric("dark", "under-exposed", _stat("brightness"), _stat("p99"), True, lambda p: p.dark_p99, 10.0),
    Metric("bright", "over-exposed or blank", _stat("brightness"), _stat("p1"), False, lambda p: p.bright_p1, 10.0),
    Metric("low_information", "little to see (low contrast)", _stat("contrast"), _stat("contrast"), True,
           lambda p: p.min_contrast, 0.15, True),
)


def robust_z(values: np.ndarray, min_spread: float = 0.0) -> np.ndarray:
    """(x - median) / max(1.4826 MAD, min_spread); zeros when the values do not vary at all."""
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    if mad <= 0:
        mad = 1.2533 * float(np.mean(np.abs(values - median)))  # half the values equal: mean deviation instead
    spread = max(mad, min_spread)
    return (values - median) / spread if spread > 0 else np.zeros_like(values)


@dataclass
class _Problem:
    name: str
    what: str
    evidence: dict[str, Any]
    score: float


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
        problems: dict[str, list[_Problem]] = {}
        for metric in METRICS:
            for d, problem in self._judge(metric, digests, stats, relative):
                problems.setdefault(d, []).append(problem)
        odd = self._odd_ones(digests, stats)
        findings: list[Finding] = []
        counts: Counter[str] = Counter()
        for d in digests:
            found = problems.get(d, []) + odd.get(d, [])
            if not found:
                continue
            counts.update(p.name for p in found)
            quality = [p for p in found if p.name not in ("size", "mode")]
            samples = holders[d]
            findings.append(self.finding(
                "; ".join(p.what for p in found), severity=None if quality else "info",
                samples=[s.id for s in samples], paths=[s.path for s in samples],
                split="/".join(sorted({s.split for s in samples})), score=max(p.score for p in found),
                evidence={"digest": d, "problems": {p.name: p.evidence for p in found}},
                action=self.action if quality else "check that the image comes from the same camera and set-up",
            ))
        return self.result(findings, images=len(digests), relative_tests=relative, problems=dict(counts))

    def _judge(self, metric: Metric, digests: list[str], stats: dict[str, Stats],
               relative: bool) -> list[tuple[str, _Problem]]:
        rel = np.array([metric.relative(stats[d]) for d in digests])
        absolute = np.array([metric.absolute(stats[d]) for d in digests])
        scale = np.log10(np.maximum(rel, 1e-6)) if metric.log else rel
        z = robust_z(scale, metric.min_spread) if relative else np.zeros(len(rel))
        floor = metric.floor(self.params)
        median = float(np.median(rel))
        out = []
        for i, d in enumerate(digests):
            bad_z = float(-z[i] if metric.low_is_bad else z[i])
            past_floor = bool(absolute[i] < floor if metric.low_is_bad else absolute[i] > floor)
            if not past_floor and bad_z < self.params.z:
                continue
            why = f"{absolute[i]:.3g}, past the limit {floor:g}" if past_floor else \
                f"{rel[i]:.3g} vs a median of {median:.3g}, {bad_z:.1f} robust SDs off"
            out.append((d, _Problem(metric.name, f"{metric.what} ({why})", {
                "value": round(float(rel[i]), 4), "median": round(median, 4), "robust_z": round(float(z[i]), 2),
                "floor_value": round(float(absolute[i]), 4), "floor": floor, "past_floor": past_floor,
            }, max(bad_z, self.params.z if past_floor else 0.0))))
        return out

    def _odd_ones(self, digests: list[str], stats: dict[str, Stats]) -> dict[str, list[_Problem]]:
        """Sizes and channel modes held by a few images when one value dominates the dataset."""
        out: dict[str, list[_Problem]] = {}
        keys: tuple[tuple[str, Callable[[Stats], str]], ...] = (
            ("size", lambda st: f"{st['width']}x{st['height']}"), ("mode", lambda st: str(st["mode"])))
        for name, key in keys:
            values = {d: key(stats[d]) for d in digests}
            common, n = Counter(values.values()).most_common(1)[0]
            share = n / len(digests)
            if share < self.params.dominant_share or n == len(digests):
                continue
            for d, value in values.items():
                if value != common:
                    out.setdefault(d, []).append(_Problem(
                        name, f"{name} {value} unlike the rest ({share:.0%} are {common})",
                        {"value": value, "dominant": common, "dominant_share": round(share, 4)}, 0.0))
        return out
