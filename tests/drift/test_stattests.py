"""Every registered two-sample test: a shifted sample is detected, a same-distribution sample is not (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from keepsight.drift.stattests import STAT_TESTS, category_shares

ALPHA = 0.01


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def test_registry_lists_every_test_with_its_kind() -> None:
    assert set(STAT_TESTS) == {"ks", "psi", "median_shift", "mmd", "exceedance", "share", "chi2"}
    assert {t.kind for t in STAT_TESTS.values()} <= {"numeric", "embedding", "categorical"}
    assert all(t.description for t in STAT_TESTS.values())


@pytest.mark.parametrize("name", ["ks", "psi", "median_shift"])
def test_numeric_tests_detect_a_shift_and_stay_quiet_on_the_same_distribution(name: str, rng: np.random.Generator) -> None:
    test = STAT_TESTS[name]
    reference = rng.normal(100, 10, 400)
    same = test(reference, rng.normal(100, 10, 60))
    shifted = test(reference, rng.normal(88, 10, 60))
    assert same.p_value > ALPHA
    assert shifted.p_value < 1e-4
    assert abs(shifted.effect) > abs(same.effect)


def test_ks_effect_is_the_ks_distance(rng: np.random.Generator) -> None:
    result = STAT_TESTS["ks"](rng.uniform(0, 1, 200), rng.uniform(2, 3, 50))
    assert result.effect == pytest.approx(1.0) and result.statistic == result.effect


def test_psi_size_and_null_calibration(rng: np.random.Generator) -> None:
    psi = STAT_TESTS["psi"]
    reference = rng.normal(0, 1, 2000)
    assert psi(reference, rng.normal(0, 1, 2000)).effect < 0.05
    assert psi(reference, rng.normal(1.5, 1, 2000)).effect > 1.0
    # Under the null the chi-square approximation should give roughly uniform p-values.
    p = [psi(reference, rng.normal(0, 1, 100)).p_value for _ in range(200)]
    assert 0.3 < float(np.mean(np.array(p) > 0.5)) < 0.7
    assert np.mean(np.array(p) < 0.05) < 0.12


def test_psi_with_a_constant_reference() -> None:
    psi = STAT_TESTS["psi"]
    assert psi(np.zeros(50), np.zeros(20)).p_value == 1.0
    assert psi(np.zeros(50), np.ones(20)).p_value == 0.0


def test_median_shift_effect_is_the_median_difference(rng: np.random.Generator) -> None:
    result = STAT_TESTS["median_shift"](rng.normal(10, 1, 300), rng.normal(14, 1, 80))
    assert result.effect == pytest.approx(4.0, abs=0.4)
    assert STAT_TESTS["median_shift"](np.ones(10), np.ones(10)).p_value == 1.0


def test_mmd_detects_a_shifted_embedding_cloud_and_not_a_same_one(rng: np.random.Generator) -> None:
    mmd = STAT_TESTS["mmd"]
    reference = rng.normal(0, 1, (150, 8))
    same = mmd(reference, rng.normal(0, 1, (30, 8)), permutations=300, seed=0)
    moved = mmd(reference, rng.normal(0.8, 1, (30, 8)), permutations=300, seed=0)
    assert same.p_value > ALPHA
    assert moved.p_value == pytest.approx(1 / 301)
    assert moved.effect > 10 * max(same.effect, 1e-3)


def test_mmd_is_reproducible_with_a_seed(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, (50, 4)), rng.normal(0.2, 1, (20, 4))
    assert STAT_TESTS["mmd"](ref, cur, seed=3, permutations=100) == STAT_TESTS["mmd"](ref, cur, seed=3, permutations=100)


def test_exceedance_counts_values_beyond_the_reference_quantile(rng: np.random.Generator) -> None:
    test = STAT_TESTS["exceedance"]
    reference = rng.exponential(1.0, 1000)
    quiet = test(reference, rng.exponential(1.0, 50), quantile=0.99)
    one_odd = test(reference, np.concatenate([rng.exponential(1.0, 49), [50.0]]), quantile=0.99)
    novel = test(reference, np.concatenate([rng.exponential(1.0, 40), np.full(10, 50.0)]), quantile=0.99)
    assert quiet.p_value > ALPHA
    assert one_odd.p_value > ALPHA  # one odd image is not a change
    assert novel.p_value < 1e-6 and novel.effect >= 0.2


def test_share_compares_flag_rates(rng: np.random.Generator) -> None:
    test = STAT_TESTS["share"]
    reference = rng.random(500) < 0.02
    assert test(reference, rng.random(40) < 0.02).p_value > ALPHA
    moved = test(reference, np.array([True] * 15 + [False] * 25))
    assert moved.p_value < 1e-6 and moved.effect == pytest.approx(15 / 40)
    # a reference with no flag at all still expects a 1% background rate
    assert test(np.zeros(100, bool), np.array([True] + [False] * 39)).p_value > ALPHA


def test_chi2_on_category_mix(rng: np.random.Generator) -> None:
    test = STAT_TESTS["chi2"]
    reference = list(rng.choice(["ok", "scratch", "dent"], 300, p=[0.8, 0.15, 0.05]))
    same = test(reference, list(rng.choice(["ok", "scratch", "dent"], 80, p=[0.8, 0.15, 0.05])))
    shifted = test(reference, list(rng.choice(["ok", "scratch", "dent"], 80, p=[0.4, 0.5, 0.1])))
    assert same.p_value > ALPHA
    assert shifted.p_value < 1e-6 and shifted.effect > 0.2
    assert test(["ok"] * 5, ["ok"] * 3).p_value == 1.0
    assert category_shares(["a", "b", "a", "a"]) == {"a": 0.75, "b": 0.25}


def test_tests_refuse_too_little_data() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        STAT_TESTS["ks"]([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        STAT_TESTS["mmd"](np.zeros((1, 3)), np.zeros((5, 3)))
