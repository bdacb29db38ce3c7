"""Two-sample tests, each a small pure function registered by name (the registry is the dict below).

Every test takes ``(reference, current, **params)`` and returns a :class:`TestResult` with a
p-value and an effect size; *whether* that amounts to drift is decided by the caller against
thresholds (``drift.thresholds`` in keepsight.yaml), so thresholds can be retuned without
recomputing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

Kind = Literal["numeric", "embedding", "categorical"]


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class

    test: str
    statistic: float
    p_value: float
    effect: float
    effect_name: str

    def as_dict(self) -> dict[str, Any]:
        return {"test": self.test, "statistic": self.statistic, "p_value": self.p_value, "effect": self.effect,
                "effect_name": self.effect_name}


@dataclass(frozen=True)
class StatTest:
    name: str
    kind: Kind
    description: str
    fn: Callable[..., TestResult]

    def __call__(self, reference: Any, current: Any, **params: Any) -> TestResult:
        return self.fn(reference, current, **params)


STAT_TESTS: dict[str, StatTest] = {}


def stat_test(name: str, kind: Kind, description: str) -> Callable[[Callable[..., TestResult]], Callable[..., TestResult]]:
    def register(fn: Callable[..., TestResult]) -> Callable[..., TestResult]:
        if name in STAT_TESTS:
            raise ValueError(f"stat test {name!r} registered twice")
        STAT_TESTS[name] = StatTest(name, kind, description, fn)
        return fn

    return register


def _numeric(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    if len(arr) < 2:
        raise ValueError(f"{what} needs at least 2 finite values, got {len(arr)}")
    return arr


@stat_test("ks", "numeric", "two-sample Kolmogorov-Smirnov test; effect = the KS distance D in [0, 1]")
def ks(reference: Any, current: Any) -> TestResult:
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    result = stats.ks_2samp(ref, cur, method="asymp")
    return TestResult("ks", float(result.statistic), float(result.pvalue), float(result.statistic), "D")


@stat_test("psi", "numeric",
           "population stability index over reference-quantile bins; p-value from PSI*nm/(n+m) ~ chi2(bins-1); "
           "effect = PSI minus its chance level (bins-1)(1/n+1/m)")
def psi(reference: Any, current: Any, *, bins: int = 10) -> TestResult:
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    if np.ptp(ref) == 0:  # constant reference: no bins to speak of; equal or not
        same = bool(np.all(cur == ref[0]))
        return TestResult("psi", 0.0 if same else float("inf"), 1.0 if same else 0.0, 0.0 if same else float("inf"), "PSI")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    n_bins = len(edges) + 1
    # Half a count per bin (Jeffreys smoothing): an empty bin in a small window is chance, not infinite drift.
    p = (np.bincount(np.searchsorted(edges, ref, side="right"), minlength=n_bins) + 0.5) / (len(ref) + 0.5 * n_bins)
    q = (np.bincount(np.searchsorted(edges, cur, side="right"), minlength=n_bins) + 0.5) / (len(cur) + 0.5 * n_bins)
    value = float(np.sum((q - p) * np.log(q / p)))
    scaled = value * len(ref) * len(cur) / (len(ref) + len(cur))
    # Two samples of one distribution still differ by about (bins - 1)(1/n + 1/m) in PSI: with a window of 30
    # that is 0.3, above the usual 0.2 "major shift". The effect is the PSI beyond that chance level.
    chance = (n_bins - 1) * (1.0 / len(ref) + 1.0 / len(cur))
    return TestResult("psi", value, float(stats.chi2.sf(scaled, n_bins - 1)), max(value - chance, 0.0),
                      "PSI above chance")


@stat_test("median_shift", "numeric", "Mann-Whitney U test; effect = median(current) - median(reference)")
def median_shift(reference: Any, current: Any) -> TestResult:
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    if np.ptp(np.concatenate([ref, cur])) == 0:
        return TestResult("median_shift", 0.0, 1.0, 0.0, "median difference")
    result = stats.mannwhitneyu(cur, ref, alternative="two-sided")
    return TestResult("median_shift", float(result.statistic), float(result.pvalue),
                      float(np.median(cur) - np.median(ref)), "median difference")


def _rbf(x: np.ndarray, bandwidth: float) -> np.ndarray:
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    return np.exp(-d2 / (2.0 * bandwidth * bandwidth))


def _mmd2_batch(kernel: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Unbiased squared MMD for each row of ``masks`` (True = reference side), in one matrix product.

    The RBF kernel's diagonal is 1, so the within-sample sums drop n (resp. m) self-pairs.
    """
    a = masks.astype(np.float64)
    b = 1.0 - a
    n, m = a[0].sum(), b[0].sum()
    ka, kb = kernel @ a.T, kernel @ b.T  # (N, P)
    sxx = np.einsum("pn,np->p", a, ka)
    syy = np.einsum("pn,np->p", b, kb)
    sxy = np.einsum("pn,np->p", a, kb)
    return (sxx - n) / (n * (n - 1)) + (syy - m) / (m * (m - 1)) - 2.0 * sxy / (n * m)


@stat_test("mmd", "embedding",
           "maximum mean discrepancy, RBF kernel (median-distance bandwidth), permutation p-value; effect = MMD^2")
def mmd(reference: Any, current: Any, *, permutations: int = 1000, seed: int = 0,
        bandwidth: float | None = None) -> TestResult:
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    cur = np.atleast_2d(np.asarray(current, dtype=np.float64))
    if len(ref) < 2 or len(cur) < 2:
        raise ValueError("mmd needs at least 2 embeddings on each side")
    pooled = np.concatenate([ref, cur])
    if bandwidth is None:
        sq = np.sum(ref * ref, axis=1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * ref @ ref.T, 0.0)
        positive = np.sqrt(d2[np.triu_indices(len(ref), 1)])
        positive = positive[positive > 0]
        bandwidth = float(np.median(positive)) if len(positive) else 1.0
    kernel = _rbf(pooled, bandwidth)
    is_ref = np.zeros(len(pooled), dtype=bool)
    is_ref[: len(ref)] = True
    observed = float(_mmd2_batch(kernel, is_ref[None, :])[0])
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(is_ref) for _ in range(permutations)])
    exceed = int(np.sum(_mmd2_batch(kernel, shuffled) >= observed))
    return TestResult("mmd", observed, float((1 + exceed) / (1 + permutations)), observed, "MMD^2")


@stat_test("exceedance", "numeric",
           "binomial test of the share of current values above the reference's quantile q (expected 1 - q); "
           "effect = that share")
def exceedance(reference: Any, current: Any, *, quantile: float = 0.99) -> TestResult:
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    threshold = float(np.quantile(ref, quantile))
    expected = max(float(np.mean(ref > threshold)), 1.0 - quantile)
    above = int(np.sum(cur > threshold))
    result = stats.binomtest(above, len(cur), expected, alternative="greater")
    return TestResult("exceedance", float(above), float(result.pvalue), above / len(cur), "share above threshold")


@stat_test("share", "categorical",
           "binomial test of the share of True flags in current against the reference's share (at least 1%); "
           "effect = the current share")
def share(reference: Any, current: Any, *, floor: float = 0.01) -> TestResult:
    ref = np.asarray(reference, dtype=bool).ravel()
    cur = np.asarray(current, dtype=bool).ravel()
    if not len(cur):
        raise ValueError("share needs at least one current flag")
    expected = min(max(float(ref.mean()) if len(ref) else 0.0, floor), 1.0)
    hits = int(cur.sum())
    result = stats.binomtest(hits, len(cur), expected, alternative="greater")
    return TestResult("share", float(hits), float(result.pvalue), hits / len(cur), "share")


@stat_test("chi2", "categorical", "chi-square test of homogeneity of the category mix; effect = Cramér's V")
def chi2(reference: Sequence[Any], current: Sequence[Any]) -> TestResult:
    if len(reference) < 1 or len(current) < 1:
        raise ValueError("chi2 needs at least one category value on each side")
    cats = sorted({str(c) for c in reference} | {str(c) for c in current})
    if len(cats) < 2:
        return TestResult("chi2", 0.0, 1.0, 0.0, "Cramér's V")
    ref_counts = [sum(str(c) == k for c in reference) for k in cats]
    cur_counts = [sum(str(c) == k for c in current) for k in cats]
    table = np.array([ref_counts, cur_counts], dtype=np.float64)
    result = stats.chi2_contingency(table, correction=False)
    total = table.sum()
    v = float(np.sqrt(result.statistic / (total * (min(table.shape) - 1))))
    return TestResult("chi2", float(result.statistic), float(result.pvalue), v, "Cramér's V")


def category_shares(values: Sequence[Any]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return {k: c / len(values) for k, c in sorted(counts.items())} if values else {}
