"""The learning-curve model on synthetic points with a known shape: the fit and the advice come out right."""

from __future__ import annotations

import numpy as np
import pytest

from keepsight.curves.config import CurveConfig
from keepsight.curves.fit import fit_power_law
from keepsight.curves.recommend import recommend

SIZES = [20, 40, 80, 160, 320, 640]


def _points(a: float, b: float, c: float, *, noise: float, repeats: int = 3, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    points = []
    for size in SIZES:
        for r in range(repeats):
            err = a * size ** -b + c + rng.normal(0.0, noise)
            points.append({"size": size, "repeat": r, "n": size, "train": {"score": 1.0, "per_class": {}},
                           "test": {"score": float(np.clip(1.0 - err, 0.0, 1.0)), "per_class": {}}})
    return points


def _fit(points: list[dict]):  # type: ignore[no-untyped-def]
    return fit_power_law([p["n"] for p in points], [p["test"]["score"] for p in points], bootstrap=60, seed=0)


def test_exact_points_recover_the_parameters() -> None:
    points = _points(2.0, 0.5, 0.05, noise=0.0, repeats=1)
    fit = _fit(points)
    assert fit is not None
    assert fit.a == pytest.approx(2.0, rel=1e-3) and fit.b == pytest.approx(0.5, rel=1e-3)
    assert fit.c == pytest.approx(0.05, abs=1e-4)
    assert fit.score(2560) == pytest.approx(1 - (2.0 * 2560 ** -0.5 + 0.05), abs=1e-4)


def test_early_saturation_is_called_saturated_and_the_high_target_unreachable() -> None:
    # err = 0.5 n^-1 + 0.10: by 80 images the curve sits within 0.01 of its 0.90 ceiling.
    points = _points(5.0, 1.0, 0.10, noise=0.004)
    fit = _fit(points)
    assert fit is not None
    assert fit.asymptote == pytest.approx(0.90, abs=0.01)
    rec = recommend(points, fit, CurveConfig(), target=0.95, metric="accuracy")
    assert rec.verdict == "saturated"
    assert rec.predicted["2x"]["value"] - rec.current_score < 0.01
    assert rec.target is not None and not rec.target["reachable"]
    assert "not reachable" in rec.target["message"] and "0.9" in rec.target["message"]


def test_a_curve_that_keeps_improving_predicts_gains_and_the_size_for_a_target() -> None:
    # err = 2 n^-0.5 + 0.01: at 640 images the score is 0.911; 0.95 needs (2 / 0.04)^2 = 2500 images.
    points = _points(2.0, 0.5, 0.01, noise=0.006)
    fit = _fit(points)
    assert fit is not None
    rec = recommend(points, fit, CurveConfig(), target=0.95, metric="accuracy")
    assert rec.verdict == "improving"
    truth_2x = 1 - (2.0 * 1280 ** -0.5 + 0.01)
    est = rec.predicted["2x"]
    assert est["low"] < est["value"] < est["high"]
    assert est["value"] == pytest.approx(truth_2x, abs=0.01)
    assert rec.target is not None and rec.target["reachable"]
    assert 1700 < rec.target["size"] < 3700
    assert rec.target["low"] < rec.target["size"] and (rec.target["high"] is None or rec.target["high"] > rec.target["size"])
    assert "needs about" in rec.target["message"]


def test_the_90_percent_interval_covers_the_truth_most_of_the_time() -> None:
    truth_2x = 1 - (2.0 * 1280 ** -0.5 + 0.01)
    covered = 0
    for seed in range(12):
        est = _fit(_points(2.0, 0.5, 0.01, noise=0.006, seed=seed)).predict(1280)  # type: ignore[union-attr]
        covered += est.low <= truth_2x <= est.high
    assert covered >= 8  # nominal 90%; about 85% in longer simulations (docs/curves.md)


def test_a_target_already_met_says_so() -> None:
    points = _points(2.0, 0.5, 0.01, noise=0.0, repeats=2)
    rec = recommend(points, _fit(points), CurveConfig(), target=0.8, metric="accuracy")
    assert "already reached" in rec.target["message"]  # type: ignore[index]


def test_bootstrap_interval_widens_with_noise() -> None:
    quiet = _fit(_points(2.0, 0.5, 0.01, noise=0.002))
    noisy = _fit(_points(2.0, 0.5, 0.01, noise=0.03))
    assert quiet is not None and noisy is not None and quiet.method == noisy.method == "bootstrap+residuals"
    width = [f.predict(2560).high - f.predict(2560).low for f in (quiet, noisy)]
    assert width[1] > 3 * width[0]


def test_single_repeat_uses_the_residual_bootstrap_and_too_few_sizes_give_no_fit() -> None:
    fit = _fit(_points(2.0, 0.5, 0.05, noise=0.01, repeats=1))
    assert fit is not None and fit.method == "residuals" and len(fit.samples) > 0
    assert fit.predict(2560).low < fit.score(2560) < fit.predict(2560).high
    assert fit_power_law([10, 10, 20, 20], [0.5, 0.6, 0.7, 0.7]) is None
    points = [p for p in _points(2.0, 0.5, 0.05, noise=0.0) if p["size"] in (20, 40)]
    rec = recommend(points, None, CurveConfig())
    assert rec.verdict == "no fit" and "three distinct sizes" in rec.message


def _with_classes(points: list[dict], per_class: dict[str, tuple[float, float, float]]) -> list[dict]:
    for p in points:
        p["test"]["per_class"] = {name: 1 - (a * p["n"] ** -b + c) for name, (a, b, c) in per_class.items()}
    return points


def test_per_class_curves_name_the_class_that_needs_more_objects() -> None:
    points = _with_classes(_points(2.0, 0.5, 0.01, noise=0.0),
                           {"scratch": (0.5, 1.0, 0.02), "dent": (3.0, 0.5, 0.0)})
    rec = recommend(points, _fit(points), CurveConfig(), pool_counts={"scratch": (40, 300), "dent": (12, 320)})
    assert rec.needs_more is not None and rec.needs_more.startswith("dent")
    assert "12 distinct objects" in rec.needs_more
    gains = {c.name: c.gain_2x for c in rec.per_class}
    assert gains["dent"] > 0.03 > gains["scratch"]  # type: ignore[operator]


def test_diagnosis_overfitting_underfitting_and_a_curve_that_turns_down() -> None:
    cfg = CurveConfig()
    over = _points(2.0, 0.5, 0.05, noise=0.0)  # test 0.87 at 640 images, train 1.0
    assert [d["kind"] for d in recommend(over, _fit(over), cfg).diagnosis] == ["overfitting"]
    under = _points(5.0, 1.0, 0.3, noise=0.0)
    for p in under:
        p["train"]["score"] = p["test"]["score"] + 0.02
    assert [d["kind"] for d in recommend(under, _fit(under), cfg).diagnosis] == ["underfitting"]
    down = _points(2.0, 0.5, 0.01, noise=0.003)
    for p in down:
        if p["size"] == 640:
            p["test"]["score"] -= 0.08  # the last images added were mislabelled
        p["train"]["score"] = p["test"]["score"] + 0.03
    kinds = [d["kind"] for d in recommend(down, _fit(down), cfg).diagnosis]
    assert kinds == ["turns_down"]
    healthy = _points(2.0, 0.5, 0.01, noise=0.003)
    for p in healthy:
        p["train"]["score"] = p["test"]["score"] + 0.03
    assert [d["kind"] for d in recommend(healthy, _fit(healthy), cfg).diagnosis] == ["ok"]


def test_noise_without_a_trend_is_called_a_poor_fit_and_far_targets_out_of_reach() -> None:
    rng = np.random.default_rng(5)
    points = _points(0.0, 0.5, 0.45, noise=0.0)
    for p in points:  # a model at chance: scores scatter around 0.55 whatever the size
        p["test"]["score"] = float(0.55 + rng.normal(0.0, 0.04))
        p["train"]["score"] = 0.75
    fit = _fit(points)
    assert fit is not None
    rec = recommend(points, fit, CurveConfig(), target=0.95)
    kinds = [d["kind"] for d in rec.diagnosis]
    assert "poor_fit" in kinds and "underfitting" in kinds and "overfitting" in kinds
    assert rec.target is not None and not rec.target["reachable"]
    assert "out of practical reach" in rec.target["message"] or "not reachable" in rec.target["message"]
    # anchored predictions never contradict the measured score: 2x is not below the current score
    assert rec.predicted["2x"]["value"] >= rec.current_score - 1e-9
