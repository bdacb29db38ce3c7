"""From points and fit to advice: current score, 2x / 4x predictions, size for a target, per-class needs,
and a diagnosis of over- or underfitting.

Rules (thresholds from the ``curve:`` config):

* **saturated** when doubling the data is predicted to gain less than ``min_gain``; else
  **improving**.
* **overfitting** when the train score exceeds the test score by more than ``overfit_gap`` at
  the full size; **underfitting** when the train score itself stays below ``underfit_score``
  (more of the same data will not fix a model that cannot fit it); both can hold at once.
* **poor fit** when the fitted curve explains less than half of the variation of the per-size
  mean scores (R²): the predictions are then rough.
* **turns down** when the test score at the largest size lies below the best smaller size by
  more than twice their combined standard error (and by more than ``min_gain``).
* per class: the class with the largest predicted gain from twice the data "needs more
  distinct objects"; without a per-class fit, the class with the lowest score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keepsight.curves.config import CurveConfig
from keepsight.curves.fit import PowerLawFit, fit_power_law

PRACTICAL_FACTOR = 100  # a target needing more than this many times the current data is out of practical reach
MIN_R2 = 0.5  # below this share of explained variation the fit is called poor


@dataclass
class SizeSummary:
    size: int  # requested size
    n: float  # mean actual samples
    test_mean: float
    test_std: float
    train_mean: float | None
    repeats: int
    per_class: dict[str, float] = field(default_factory=dict)  # mean test score per class

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ClassAdvice:
    name: str
    current: float
    predicted_2x: float | None
    gain_2x: float | None
    asymptote: float | None
    groups_in_pool: int
    samples_in_pool: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Recommendation:
    verdict: str  # improving | saturated | no fit
    message: str
    current_size: int
    current_score: float
    current_std: float
    predicted: dict[str, dict[str, float]]  # "2x" / "4x" -> value, low, high, size
    target: dict[str, Any] | None
    per_class: list[ClassAdvice]
    needs_more: str | None
    diagnosis: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        body["per_class"] = [c.as_dict() for c in self.per_class]
        return body


def summarize_sizes(points: Sequence[dict[str, Any]]) -> list[SizeSummary]:
    out = []
    for size in sorted({int(p["size"]) for p in points}):
        at = [p for p in points if int(p["size"]) == size]
        test = np.array([p["test"]["score"] for p in at], dtype=np.float64)
        train = [p["train"]["score"] for p in at if p.get("train")]
        classes = sorted({c for p in at for c in p["test"].get("per_class", {})})
        per_class = {c: float(np.mean([p["test"]["per_class"][c] for p in at if c in p["test"].get("per_class", {})]))
                     for c in classes}
        out.append(SizeSummary(size, float(np.mean([p["n"] for p in at])), float(test.mean()),
                               float(test.std(ddof=1)) if len(test) > 1 else 0.0,
                               float(np.mean(train)) if train else None, len(at), per_class))
    return out


def _diagnose(sizes: list[SizeSummary], config: CurveConfig) -> list[dict[str, Any]]:
    last = sizes[-1]
    found: list[dict[str, Any]] = []
    if last.train_mean is not None:
        gap = last.train_mean - last.test_mean
        if gap > config.overfit_gap:
            found.append({"kind": "overfitting", "gap": gap, "train": last.train_mean, "test": last.test_mean,
                          "message": f"overfitting: train {last.train_mean:.3f} vs test {last.test_mean:.3f} "
                                     f"(gap {gap:.3f}); more distinct objects, augmentation or a simpler model help"})
        if last.train_mean < config.underfit_score:
            found.append({"kind": "underfitting", "gap": gap, "train": last.train_mean, "test": last.test_mean,
                          "message": f"underfitting: the model reaches only {last.train_mean:.3f} on its own training "
                                     "images; a stronger model or better features will help more than more data"})
    earlier = sizes[:-1]
    if earlier:
        best = max(earlier, key=lambda s: s.test_mean)
        drop = best.test_mean - last.test_mean
        se = math.sqrt(best.test_std**2 / max(1, best.repeats) + last.test_std**2 / max(1, last.repeats))
        if drop > max(2.0 * se, config.min_gain):
            found.append({"kind": "turns_down", "drop": drop, "best_size": best.size,
                          "message": f"the curve turns down: {best.test_mean:.3f} at {best.size} images but "
                                     f"{last.test_mean:.3f} at {last.size}; the images added last may be mislabelled, "
                                     "duplicated or from another distribution"})
    if not found:
        found.append({"kind": "ok", "message": "no sign of over- or underfitting"})
    return found


def _class_advice(points: Sequence[dict[str, Any]], pool_counts: dict[str, tuple[int, int]], current_n: float,
                  config: CurveConfig) -> list[ClassAdvice]:
    classes = sorted({c for p in points for c in p["test"].get("per_class", {})})
    out = []
    last = max(int(p["size"]) for p in points)
    for name in classes:
        xs = [float(p["n"]) for p in points if name in p["test"].get("per_class", {})]
        ys = [float(p["test"]["per_class"][name]) for p in points if name in p["test"].get("per_class", {})]
        now = [float(p["test"]["per_class"][name]) for p in points
               if int(p["size"]) == last and name in p["test"].get("per_class", {})]
        fit = fit_power_law(xs, ys, bootstrap=0, seed=config.seed)
        current = float(np.mean(now)) if now else float("nan")
        groups, samples = pool_counts.get(name, (0, 0))
        if fit is None:
            out.append(ClassAdvice(name, current, None, None, None, groups, samples))
            continue
        # The class's own fit can sit off its last point (few, noisy per-class scores): report the
        # fitted gain from twice the data on top of the observed score, not the fitted value itself.
        gain = fit.score(2 * current_n) - fit.score(current_n)
        out.append(ClassAdvice(name, current, min(1.0, current + gain), gain, fit.asymptote, groups, samples))
    return out


def _fit_r2(sizes: list[SizeSummary], fit: PowerLawFit) -> float:
    """How much of the variation of the per-size means the fitted curve explains."""
    means = np.array([s.test_mean for s in sizes])
    fitted = np.array([fit.score(s.n) for s in sizes])
    spread = float(((means - means.mean()) ** 2).sum())
    return 1.0 - float(((means - fitted) ** 2).sum()) / spread if spread > 1e-12 else 1.0


def _target(fit: PowerLawFit, target: float, offset: float, last: SizeSummary) -> dict[str, Any]:
    need = fit.size_for(min(1.0, max(1e-6, target - offset)))  # in the fit's frame, see `recommend`
    body = need.as_dict()
    body["target"] = target
    body["asymptote"] = min(1.0, need.asymptote + offset)
    practical = need.size is not None and need.size <= PRACTICAL_FACTOR * last.n
    if last.test_mean >= target:
        body["message"] = f"target {target:g} already reached ({last.test_mean:.3f} with {last.size} images)"
    elif practical and need.size is not None:
        high = f"{need.high:.0f}" if need.high is not None else "unbounded"
        body["message"] = (f"target {target:g} needs about {need.size:.0f} images (90% interval {need.low:.0f}-{high}; "
                           f"{need.chance_reachable:.0%} of bootstrap fits reach it)")
    elif need.size is not None:
        body["reachable"] = False
        body["message"] = (f"target {target:g} is out of practical reach: the curve would need more than "
                           f"{PRACTICAL_FACTOR}x the current data (about {need.size:.3g} images)")
    else:
        body["message"] = (f"target {target:g} is not reachable with more data of this kind: the curve's asymptote "
                           f"is {body['asymptote']:.3f}")
    return body


def recommend(
    points: Sequence[dict[str, Any]],
    fit: PowerLawFit | None,
    config: CurveConfig,
    *,
    target: float | None = None,
    pool_counts: dict[str, tuple[int, int]] | None = None,
    metric: str = "score",
    task: str = "classify",
) -> Recommendation:
    """Advice from the points and the fit.

    Predictions are anchored at the measured score: the fitted gain from n to 2n (4n) is added to
    the mean test score at the full size n, and the interval is moved with it. When the curve
    passes through its last point this changes nothing; when it does not (noisy points), it
    keeps "from X to Y" from contradicting the measurement.
    """
    sizes = summarize_sizes(points)
    last = sizes[-1]
    current_n = last.n
    predicted: dict[str, dict[str, float]] = {}
    target_body: dict[str, Any] | None = None
    diagnosis = _diagnose(sizes, config)
    if fit is None:
        verdict = "no fit"
        message = ("too few sizes to fit a learning curve (need three distinct sizes); "
                   f"{metric} is {last.test_mean:.3f} with {last.size} images")
    else:
        offset = last.test_mean - fit.score(current_n)
        for factor in (2, 4):
            est = fit.predict(factor * current_n)
            predicted[f"{factor}x"] = {"size": factor * current_n, "value": min(1.0, est.value + offset),
                                       "low": min(1.0, est.low + offset), "high": min(1.0, est.high + offset)}
        gain = predicted["2x"]["value"] - last.test_mean
        if last.test_mean >= 1.0 - config.min_gain / 2 and gain < config.min_gain:
            verdict = "saturated"
            message = (f"{metric} is already {last.test_mean:.3f} with {last.size} images: this test set cannot show "
                       "what more data would bring; test on a larger or harder test set")
        elif gain < config.min_gain:
            verdict = "saturated"
            message = (f"more images of the same kind will barely help: twice the data ({2 * current_n:.0f} images) is "
                       f"predicted to move {metric} from {last.test_mean:.3f} to {predicted['2x']['value']:.3f}; the "
                       f"curve levels off near {min(1.0, fit.asymptote + offset):.3f}. Improve the model, the labels "
                       "or the capture instead")
        else:
            verdict = "improving"
            message = (f"more data pays: twice the data ({2 * current_n:.0f} images) should raise {metric} from "
                       f"{last.test_mean:.3f} to {predicted['2x']['value']:.3f} (90% interval "
                       f"{predicted['2x']['low']:.3f}-{predicted['2x']['high']:.3f}), four times to "
                       f"{predicted['4x']['value']:.3f}")
        if target is not None:
            target_body = _target(fit, target, offset, last)
        r2 = _fit_r2(sizes, fit)
        if r2 < MIN_R2:
            diagnosis = [d for d in diagnosis if d["kind"] != "ok"]
            diagnosis.append({"kind": "poor_fit", "r2": r2,
                              "message": f"the points do not follow a learning curve (R² {r2:.2f} of the per-size "
                                         "means): the scores are dominated by noise; treat every prediction as rough"})
    per_class = _class_advice(points, pool_counts or {}, current_n, config)
    needs_more = _needs_more(per_class, config, task)
    return Recommendation(verdict, message, last.size, last.test_mean, last.test_std, predicted, target_body, per_class,
                          needs_more, diagnosis)


def _needs_more(per_class: list[ClassAdvice], config: CurveConfig, task: str) -> str | None:
    if not per_class:
        return None
    gaining = [c for c in per_class if c.gain_2x is not None and c.gain_2x >= config.min_gain]
    if gaining:
        best = max(gaining, key=lambda c: (c.gain_2x or 0.0, -c.current))
        if task == "anomaly":
            return (f"{best.name} gains most from more good images: {best.current:.3f} now, {best.predicted_2x:.3f} "
                    f"predicted with twice the good images ({best.samples_in_pool} {best.name} images in the test set)")
        return (f"{best.name}: {best.current:.3f} now, {best.predicted_2x:.3f} predicted with twice the data; "
                f"{best.groups_in_pool} distinct objects in the train pool: collect more distinct {best.name} objects")
    worst = min(per_class, key=lambda c: c.current)
    if worst.current >= 1.0 - config.min_gain / 2:
        return None  # every class is (near) perfect: nothing to single out
    if task == "anomaly":
        return (f"{worst.name} is detected worst ({worst.current:.3f}) and more good images will not change that: "
                "the model's features may not see this defect")
    return (f"{worst.name} scores lowest ({worst.current:.3f}) but its curve is flat: more of the same will not fix it; "
            "check its labels and whether its images cover the variation")
