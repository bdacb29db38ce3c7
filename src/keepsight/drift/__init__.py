"""Drift: watch production images, explain what changed against the training reference, decide when to retrain.

``keepsight.config`` imports ``drift.config``, so this package's names load lazily (PEP 562):
importing the package stays as cheap as importing the config model.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DriftConfig": "keepsight.drift.config",
    "ReferenceProfile": "keepsight.drift.reference",
    "build_reference": "keepsight.drift.reference",
    "load_reference": "keepsight.drift.reference",
    "reference_for": "keepsight.drift.reference",
    "Monitor": "keepsight.drift.monitor",
    "Prediction": "keepsight.drift.features",
    "WindowResult": "keepsight.drift.analysis",
    "Alarm": "keepsight.drift.analysis",
    "drift_check": "keepsight.drift.check",
    "FolderWatcher": "keepsight.drift.watcher",
    "list_requests": "keepsight.drift.requests",
    "STAT_TESTS": "keepsight.drift.stattests",
    "select_for_annotation": "keepsight.drift.selection",
    "write_html": "keepsight.drift.html",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keepsight.drift' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
