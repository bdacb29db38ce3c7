"""Lineage: which dataset version, and which of its splits, each model was trained on.

So that a later audit finding or drift alarm on some images can name the models affected
(:func:`models_trained_on`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from keepsight.dataset import Dataset, current_user
from keepsight.errors import ConflictError, DatasetError
from keepsight.splits.assign import SPLIT_NAMES
from keepsight.storage.catalog import writes
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import trained_models, versions
from keepsight.versions.api import get_version, load_manifest


def _as_dict(row: Any) -> dict[str, Any]:
    at = row.registered_at
    return {"name": row.name, "version": row.version, "train_split": row.train_split,
            "registered_at": at.isoformat() if at.tzinfo else at.isoformat() + "+00:00",
            "actor": row.actor, "metrics": dict(row.metrics or {}), "details": dict(row.details or {})}


def register_model(ds: Dataset, name: str, *, version: str, metrics: dict[str, Any] | None = None,
                   train_split: str = "train") -> dict[str, Any]:
    """Record that model ``name`` was trained on ``train_split`` of dataset version ``version``."""
    if not name or not name.strip() or len(name) > 128:
        raise DatasetError("a model name must be 1 to 128 characters")
    if train_split not in SPLIT_NAMES:
        raise DatasetError(f"train split must be one of {', '.join(SPLIT_NAMES)}, got {train_split!r}")
    info = get_version(ds, version)
    try:
        metrics = json.loads(json.dumps(metrics or {}))
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"metrics must be JSON data: {exc}") from None
    if not isinstance(metrics, dict):
        raise DatasetError("metrics must be a JSON object (name -> value)")
    splits = info.summary.get("splits", {})
    details = {"samples_per_split": splits, "trained_samples": splits.get(train_split, 0),
               "manifest": info.manifest}
    actor = current_user()
    try:
        with ds.transaction() as conn:
            conn.execute(insert(trained_models).values(
                name=name.strip(), version=info.label, train_split=train_split, registered_at=now(), actor=actor,
                metrics=metrics, details=details))
            writes.record_event(conn, "model.register", actor=actor, target=name.strip(),
                                details={"version": info.label, "train_split": train_split, "metrics": metrics})
    except DBIntegrityError:
        raise ConflictError(f"model {name!r} is already registered on version {info.label}") from None
    found = [m for m in models_for_version(ds, info.label) if m["name"] == name.strip()]
    return found[0]


def list_models(ds: Dataset, *, name: str | None = None) -> list[dict[str, Any]]:
    """Registered models, oldest first."""
    query = select(trained_models).order_by(trained_models.c.id)
    if name is not None:
        query = query.where(trained_models.c.name == name)
    with ds.reading() as conn:
        return [_as_dict(r) for r in conn.execute(query)]


def models_for_version(ds: Dataset, version: str) -> list[dict[str, Any]]:
    """The models trained on dataset version ``version`` (each: name, version, registered_at, metrics...)."""
    label = get_version(ds, version).label
    with ds.reading() as conn:
        rows = conn.execute(select(trained_models).where(trained_models.c.version == label)
                            .order_by(trained_models.c.id))
        return [_as_dict(r) for r in rows]


def models_trained_on(ds: Dataset, paths: Iterable[str]) -> list[dict[str, Any]]:
    """The models whose training split held any of these sample paths, each with the paths it held."""
    wanted = set(paths)
    with ds.reading() as conn:
        labels = [r[0] for r in conn.execute(select(versions.c.label).order_by(versions.c.id))]
    out = []
    held: dict[tuple[str, str], set[str]] = {}
    for model in list_models(ds):
        key = (model["version"], model["train_split"])
        if key not in held and model["version"] in labels:
            manifest = load_manifest(ds, model["version"])
            held[key] = {e.path for e in manifest.entries if e.split == model["train_split"]}
        hit = sorted(wanted & held.get(key, set()))
        if hit:
            out.append(model | {"samples": hit})
    return out
