"""Which dataset version the reference describes, and which models were trained on it (keepsight.versions).

The versions package is optional at this layer: a dataset that has never been versioned is
"unversioned" and names no models. Only the absence of the package itself is tolerated; any
error raised inside it propagates.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from keepsight.dataset import Dataset

UNVERSIONED = "unversioned"


def _versions_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"keepsight.versions.{name}")
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == "keepsight.versions" or exc.name.startswith("keepsight.versions.")):
            return None
        raise


def dataset_version(ds: Dataset) -> str:
    """The latest committed dataset version, or "unversioned"."""
    api = _versions_module("api")
    if api is None:
        return UNVERSIONED
    version = api.latest_version(ds)
    return str(version) if version else UNVERSIONED


def affected_models(ds: Dataset, version: str) -> list[dict[str, Any]]:
    """Models registered as trained on ``version`` (name, version and whatever lineage records)."""
    if version == UNVERSIONED:
        return []
    lineage = _versions_module("lineage")
    if lineage is None:
        return []
    return [dict(m) for m in lineage.models_for_version(ds, version)]


def model_names(models: list[dict[str, Any]]) -> list[str]:
    return [f"{m.get('name')}@{m.get('version')}" if m.get("version") is not None else str(m.get("name"))
            for m in models]
