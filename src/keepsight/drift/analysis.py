"""Test one window of production images against the reference profile.

Raw computation (the registered tests) is kept apart from the decision (p-value below
``alpha`` AND an effect size over its threshold) so thresholds can be retuned cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from keepsight.drift.config import DriftConfig
from keepsight.drift.explain import Explanation, TestOutcome, explain, relative
from keepsight.drift.features import Prediction
from keepsight.drift.observation import Observation
from keepsight.drift.reference import ReferenceProfile
from keepsight.drift.stattests import STAT_TESTS, category_shares

MMD_REFERENCE = 300  # reference embeddings sampled for the MMD test
EXAMPLES = 4


@dataclass
class WindowResult:
    index: int
    first: int  # stream index of the first and last image
    last: int
    start: datetime
    end: datetime
    images: int
    status: str = "tested"  # tested | too_few
    tests: list[TestOutcome] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    summary: dict[str, float | None] = field(default_factory=dict)  # window medians, for time-series plots
    examples: list[dict[str, Any]] = field(default_factory=list)  # images that show the primary explanation
    observations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.explanations)

    @property
    def category(self) -> str | None:
        return self.explanations[0].category if self.explanations else None

    def as_dict(self, *, observations: bool = True) -> dict[str, Any]:
        out = {"index": self.index, "first": self.first, "last": self.last, "start": self.start.isoformat(),
               "end": self.end.isoformat(), "images": self.images, "status": self.status, "drifted": self.drifted,
               "category": self.category, "tests": [t.as_dict() for t in self.tests],
               "explanations": [e.as_dict() for e in self.explanations], "summary": self.summary,
               "examples": self.examples}
        if observations:
            out["observations"] = self.observations
        return out


@dataclass
class Alarm:
    """Consecutive drifted windows with the same primary explanation."""

    id: int
    category: str
    message: str
    first_window: int
    last_window: int
    first_image: int
    last_image: int
    started_at: datetime
    version: str
    models: list[dict[str, Any]]
    explanations: list[Explanation]
    examples: list[dict[str, Any]]
    windows: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "message": self.message,
                "first_window": self.first_window, "last_window": self.last_window, "windows": self.windows,
                "first_image": self.first_image, "last_image": self.last_image,
                "started_at": self.started_at.isoformat(), "version": self.version, "models": self.models,
                "explanations": [e.as_dict() for e in self.explanations], "examples": self.examples}


def _median(values: list[float] | np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def _statistic_tests(reference: ReferenceProfile, obs: list[Observation], config: DriftConfig) -> list[TestOutcome]:
    th = config.thresholds
    out = []
    for name in config.statistics:
        ref = reference.stat(name)
        cur = np.array([o.stats[name] for o in obs])
        ks, psi = STAT_TESTS["ks"](ref, cur), STAT_TESTS["psi"](ref, cur)
        ref_med, cur_med = float(np.median(ref)), float(np.median(cur))
        change = relative(ref_med, cur_med)
        drifted = ks.p_value < th.alpha and psi.effect >= th.psi and abs(change) >= th.relative_change
        for result in (ks, psi):
            out.append(TestOutcome("statistic", name, result, drifted, ref_med, cur_med, {"relative": change}))
    return out


def _effective_novelty(reference: ReferenceProfile, obs: list[Observation]) -> np.ndarray:
    """Novelty distances, with 0 for images that register onto the training scene (same scene, not new content)."""
    distances = np.array([o.novelty for o in obs])
    if not reference.scene_applicable:
        return distances
    floor = reference.scene_floor
    return np.where([o.registered(floor) for o in obs], 0.0, distances)


def _tolerances(base: np.ndarray, centre: np.ndarray, config: DriftConfig) -> np.ndarray:
    """How far from the training pose an image must sit to count as moved, per component (dx, dy, rotation,
    relative scale): the configured tolerance, or training's own 99th-percentile deviation when that is larger
    (a screw that turns between frames, a part that settles differently in its fixture)."""
    th = config.thresholds
    dev = np.abs(_deviation(base, centre))
    spread = np.quantile(dev, 0.99, axis=0) if len(dev) else np.zeros(4)
    return np.maximum(np.array([th.shift_px, th.shift_px, th.rotation_deg, th.scale]), spread)


def _deviation(geometry: np.ndarray, centre: np.ndarray) -> np.ndarray:
    dev = geometry - centre
    dev[:, 3] = geometry[:, 3] / centre[3] - 1.0
    return dev


def _geometry_tests(reference: ReferenceProfile, obs: list[Observation], config: DriftConfig) -> list[TestOutcome]:
    """Camera movement: the share of images registered away from where training images sit (binomial test),
    and, for the record, the shift of each component (Mann-Whitney)."""
    if not reference.scene_applicable:
        return []
    base = reference.baseline_geometry()
    floor = reference.scene_floor
    cur = np.array([o.registration.as_row() for o in obs if o.registration is not None and o.registered(floor)])
    if len(base) < 3 or len(cur) < max(3, config.window.min_images // 2):
        return []
    th = config.thresholds
    centre = np.median(base, axis=0)
    tolerance = _tolerances(base, centre, config)
    base_moved = (np.abs(_deviation(base, centre)) >= tolerance).any(axis=1)
    deviation = _deviation(cur, centre)
    moved = (np.abs(deviation) >= tolerance).any(axis=1)
    share = STAT_TESTS["share"](base_moved, moved)
    typical = np.median(deviation[moved], axis=0) if moved.any() else np.zeros(4)
    details = {"dx": float(typical[0]), "dy": float(typical[1]), "rotation": float(typical[2]),
               "scale": float(typical[3]), "moved_images": int(moved.sum()), "registered_images": len(cur),
               "tolerance": {k: float(v) for k, v in zip(("dx", "dy", "rotation", "scale"), tolerance, strict=True)}}
    out = [TestOutcome("geometry", "moved", share, share.p_value < th.alpha and share.effect >= th.moved_fraction,
                       None, share.effect, details)]
    for k, name in enumerate(("dx", "dy", "rotation", "scale")):
        result = STAT_TESTS["median_shift"](base[:, k], cur[:, k])
        out.append(TestOutcome("geometry", name, result, False, float(centre[k]), float(np.median(cur[:, k]))))
    return out


def _prediction_tests(obs: list[Observation], baseline: list[Prediction], config: DriftConfig) -> list[TestOutcome]:
    th = config.thresholds
    preds = [o.prediction for o in obs if o.prediction is not None]
    out: list[TestOutcome] = []
    if len(preds) < config.window.min_images or len(baseline) < config.window.min_images:
        return out
    ref_conf = [p.confidence for p in baseline if p.confidence is not None]
    cur_conf = [p.confidence for p in preds if p.confidence is not None]
    if len(ref_conf) >= 2 and len(cur_conf) >= 2:
        ks = STAT_TESTS["ks"](ref_conf, cur_conf)
        shift = STAT_TESTS["median_shift"](ref_conf, cur_conf)
        drifted = ks.p_value < th.alpha and abs(shift.effect) >= th.confidence_shift
        for result in (ks, shift):
            out.append(TestOutcome("prediction", "confidence", result, drifted, _median(ref_conf), _median(cur_conf)))
    ref_labels = [p.label for p in baseline if p.label is not None]
    cur_labels = [p.label for p in preds if p.label is not None]
    if ref_labels and cur_labels:
        result = STAT_TESTS["chi2"](ref_labels, cur_labels)
        drifted = result.p_value < th.alpha and result.effect >= th.class_mix
        out.append(TestOutcome("prediction", "class", result, drifted, details={
            "reference_shares": category_shares(ref_labels), "current_shares": category_shares(cur_labels)}))
    return out


def _summary(reference: ReferenceProfile, obs: list[Observation], effective: np.ndarray,
             threshold: float, tests: list[TestOutcome]) -> dict[str, float | None]:
    out: dict[str, float | None] = {name: _median([o.stats[name] for o in obs]) for name in reference.stat_names}
    out["novel_share"] = float(np.mean(effective > threshold))
    if reference.scene_applicable:
        floor = reference.scene_floor
        regs = [o.registration for o in obs if o.registration is not None and o.registered(floor)]
        out["registered_share"] = len(regs) / len(obs)
        for k, name in enumerate(("dx", "dy", "rotation", "scale")):
            out[name] = _median([r.as_row()[k] for r in regs])
    confs = [o.prediction.confidence for o in obs if o.prediction is not None and o.prediction.confidence is not None]
    out["confidence"] = _median(confs)
    for t in tests:
        if t.family == "embedding":
            out["mmd_p"] = t.result.p_value
    return out


def _examples(category: str | None, reference: ReferenceProfile, obs: list[Observation],
              effective: np.ndarray) -> list[dict[str, Any]]:
    """The images that show the primary explanation best."""
    if category is None:
        return []

    def stat_gap(name: str) -> np.ndarray:
        ref = float(np.median(reference.stat(name)))
        return np.array([abs(o.stats[name] - ref) for o in obs])

    if category == "camera_moved":
        score = np.array([abs(o.registration.dx) + abs(o.registration.dy) + 10 * abs(o.registration.rotation)
                          if o.registration is not None else 0.0 for o in obs])
    elif category == "illumination":
        score = stat_gap("brightness")
    elif category == "focus_or_wear":
        score = stat_gap("focus")
    elif category in ("noise", "contrast", "colour"):
        score = stat_gap({"noise": "grain", "contrast": "contrast", "colour": "saturation"}[category])
    elif category == "model_confidence":
        score = np.array([1.0 - (o.prediction.confidence or 0.0) if o.prediction else 0.0 for o in obs])
    elif category == "new_content":
        score = effective
    else:
        score = np.array([o.novelty for o in obs])
    picks = np.argsort(-score, kind="stable")[:EXAMPLES]
    return [{"name": obs[i].name, "digest": obs[i].digest, "index": obs[i].index, "score": float(score[i]),
             "thumbnail": obs[i].thumbnail_b64()} for i in picks]


def analyse_window(reference: ReferenceProfile, obs: list[Observation], config: DriftConfig, *, index: int,
                   baseline: list[Prediction] | None = None) -> WindowResult:
    """Every test of one window, the drift decisions and their explanations."""
    if not obs:
        raise ValueError("a window needs at least one observation")
    floor = reference.scene_floor if reference.scene_applicable else None
    window = WindowResult(index=index, first=obs[0].index, last=obs[-1].index, start=obs[0].at, end=obs[-1].at,
                          images=len(obs), observations=[o.as_dict(floor=floor) for o in obs])
    if len(obs) < config.window.min_images:
        window.status = "too_few"
        return window
    th = config.thresholds
    tests = _statistic_tests(reference, obs, config)
    effective = _effective_novelty(reference, obs)
    novelty = STAT_TESTS["exceedance"](reference.novelty_loo, effective, quantile=th.novelty_quantile)
    tests.append(TestOutcome("novelty", "embedding", novelty,
                             novelty.p_value < th.alpha and novelty.effect >= th.novelty_fraction,
                             1.0 - th.novelty_quantile, novelty.effect))
    rng = np.random.default_rng(config.reference.seed + index)
    ref_emb = reference.embeddings
    if len(ref_emb) > MMD_REFERENCE:
        ref_emb = ref_emb[rng.choice(len(ref_emb), MMD_REFERENCE, replace=False)]
    mmd = STAT_TESTS["mmd"](ref_emb, np.stack([o.embedding for o in obs]), permutations=config.permutations,
                            seed=config.reference.seed + index)
    tests.append(TestOutcome("embedding", "embedding", mmd, mmd.p_value < th.alpha and mmd.effect >= th.mmd))
    tests += _geometry_tests(reference, obs, config)
    tests += _prediction_tests(obs, baseline or [], config)
    window.tests = tests
    window.explanations = explain(tests, version=reference.version)
    window.summary = _summary(reference, obs, effective, reference.novelty_threshold(th.novelty_quantile), tests)
    window.examples = _examples(window.category, reference, obs, effective)
    return window
