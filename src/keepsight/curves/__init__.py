"""Learning curves: how many images are enough, and which class needs more.

    result = compute_curve(ds, task="classify", sizes="auto", repeats=3, target=0.95)
    result.recommendation["message"]; plot_curve(result) -> PNG bytes

Trains a trainer (built-in, or the user's command) on nested, group-aware, class-stratified
subsets of the train split, scores each on the fixed test split, fits err(n) = a*n^-b + c and
advises. Every curve is a saved run (kind ``curve``). See docs/curves.md.

Names are imported lazily: ``keepsight.config`` imports ``keepsight.curves.config``, which must
not pull in the dataset layer (that imports ``keepsight.config``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keepsight.curves.config import CurveConfig
    from keepsight.curves.fit import PowerLawFit, fit_power_law
    from keepsight.curves.items import TASKS, CurveItem, Task
    from keepsight.curves.metrics import Metrics
    from keepsight.curves.plot import plot_curve, save_plot
    from keepsight.curves.runner import CurveResult, compute_curve
    from keepsight.curves.subsets import holdout_split, nested_subsets
    from keepsight.curves.trainers import TRAINERS, Evaluation, ExternalTrainer, PredictingTrainer, Trainer

_WHERE = {
    "CurveConfig": "config", "PowerLawFit": "fit", "fit_power_law": "fit", "TASKS": "items", "CurveItem": "items",
    "Task": "items", "Metrics": "metrics", "plot_curve": "plot", "save_plot": "plot", "CurveResult": "runner",
    "compute_curve": "runner", "holdout_split": "subsets", "nested_subsets": "subsets", "TRAINERS": "trainers",
    "Evaluation": "trainers", "ExternalTrainer": "trainers", "PredictingTrainer": "trainers", "Trainer": "trainers",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'keepsight.curves' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keepsight.curves.{_WHERE[name]}"), name)


__all__ = [
    "TASKS",
    "TRAINERS",
    "CurveConfig",
    "CurveItem",
    "CurveResult",
    "Evaluation",
    "ExternalTrainer",
    "Metrics",
    "PowerLawFit",
    "PredictingTrainer",
    "Task",
    "Trainer",
    "compute_curve",
    "fit_power_law",
    "holdout_split",
    "nested_subsets",
    "plot_curve",
    "save_plot",
]
