"""The learning-curve model: an inverse power law on the test error, with bootstrap intervals.

    err(n) = a * n^(-b) + c        score(n) = 1 - err(n)

``c`` is the error the model would keep with unlimited data of the same kind (the asymptote),
``b`` how fast the error falls. Fitted with ``scipy.optimize.curve_fit`` (bounded: a, c >= 0,
0 <= b <= 3, c <= 1) on every (size, repeat) point. Intervals come from refitting on bootstrap
resamples of the repeats at each size; with a single repeat per size, from parameter draws
from the fit's covariance instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

INTERVAL = (5.0, 95.0)  # a 90% interval


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.power(n, -b) + c


@dataclass
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass
class SizeForTarget:
    target: float
    reachable: bool
    size: float | None  # images needed (None when not reachable)
    low: float | None
    high: float | None
    chance_reachable: float  # share of the bootstrap fits that reach the target at all
    asymptote: float  # the best score the model is predicted to reach, 1 - c

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PowerLawFit:
    a: float
    b: float
    c: float
    rmse: float
    points: int
    samples: np.ndarray  # (B, 3) bootstrap parameters (a, b, c); may be empty
    method: str  # bootstrap | covariance | none

    def score(self, n: float) -> float:
        return float(1.0 - power_law(np.asarray(float(n)), self.a, self.b, self.c))

    @property
    def asymptote(self) -> float:
        return 1.0 - self.c

    def predict(self, n: float) -> Estimate:
        value = self.score(n)
        if not len(self.samples):
            return Estimate(value, value, value)
        draws = 1.0 - power_law(np.asarray(float(n)), self.samples[:, 0], self.samples[:, 1], self.samples[:, 2])
        low, high = np.percentile(draws, INTERVAL)
        return Estimate(value, float(min(low, value)), float(max(high, value)))

    def size_for(self, target: float) -> SizeForTarget:
        size = _size_for(self.a, self.b, self.c, target)
        chance, low, high = 1.0 if size is not None else 0.0, size, size
        if len(self.samples):
            sizes = np.array([_size_for(a, b, c, target) or math.inf for a, b, c in self.samples])
            finite = sizes[np.isfinite(sizes)]
            chance = float(len(finite) / len(sizes))
            if size is not None and len(finite):
                lo, hi = np.percentile(sizes, INTERVAL)  # inf where unreachable: the upper bound can be inf
                low, high = float(min(lo, size)), float(max(hi, size)) if math.isfinite(hi) else None
        return SizeForTarget(target, size is not None, size, low, high, chance, self.asymptote)

    def as_dict(self) -> dict[str, Any]:
        cov = None
        if len(self.samples) > 2:
            cov = np.cov(self.samples.T).tolist()
        return {"model": "err(n) = a * n^-b + c", "a": self.a, "b": self.b, "c": self.c,
                "asymptote": self.asymptote, "rmse": self.rmse, "points": self.points,
                "interval": f"{INTERVAL[1] - INTERVAL[0]:g}%", "uncertainty": self.method,
                "bootstrap_fits": len(self.samples), "parameter_covariance": cov}


def _size_for(a: float, b: float, c: float, target: float) -> float | None:
    """The n where the fitted score reaches ``target``; None when the asymptote stays below it."""
    err = 1.0 - target
    if err <= c:
        return None
    if a <= 0.0 or b <= 1e-9:  # a flat curve: reached at any size, or never
        return 1.0 if (a if b <= 1e-9 else 0.0) + c <= err else None
    return float((a / (err - c)) ** (1.0 / b))


def _fit_once(n: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    c0 = max(0.0, float(err.min()) * 0.5)
    b0 = 0.5
    a0 = max(1e-6, (float(err.max()) - c0) * float(n.min()) ** b0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, pcov = curve_fit(power_law, n, err, p0=[a0, b0, c0], bounds=([0.0, 0.0, 0.0], [np.inf, 3.0, 1.0]),
                                   maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return popt, pcov


def fit_power_law(
    sizes: Sequence[float], scores: Sequence[float], *, bootstrap: int = 300, seed: int = 0
) -> PowerLawFit | None:
    """Fit on individual points (size, score); None with fewer than three distinct sizes."""
    n = np.asarray(sizes, dtype=np.float64)
    err = 1.0 - np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(n) & np.isfinite(err) & (n > 0)
    n, err = n[ok], err[ok]
    distinct = np.unique(n)
    if len(distinct) < 3:
        return None
    found = _fit_once(n, err)
    if found is None:
        return None
    (a, b, c), pcov = found
    rmse = float(np.sqrt(np.mean((power_law(n, a, b, c) - err) ** 2)))
    rng = np.random.default_rng(seed)
    by_size = [np.flatnonzero(n == s) for s in distinct]
    repeated = max(len(ix) for ix in by_size) >= 2
    samples: list[np.ndarray] = []
    method = "none"
    if bootstrap and repeated:
        method = "bootstrap"
        for _ in range(bootstrap):
            pick = np.concatenate([rng.choice(ix, len(ix), replace=True) for ix in by_size])
            again = _fit_once(n[pick], err[pick])
            if again is not None:
                samples.append(again[0])
    elif bootstrap and np.all(np.isfinite(pcov)):
        method = "covariance"
        draws = rng.multivariate_normal([a, b, c], pcov, size=bootstrap, check_valid="ignore")
        lo, hi = np.array([0.0, 0.0, 0.0]), np.array([np.inf, 3.0, 1.0])
        samples = list(np.clip(draws, lo, hi))
    arr = np.asarray(samples, dtype=np.float64).reshape(-1, 3)
    return PowerLawFit(float(a), float(b), float(c), rmse, int(len(n)), arr, method)
