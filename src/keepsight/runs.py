"""Saved analysis runs: every audit, learning curve and drift check is config -> run -> results.

A run is a row in the catalog's ``runs`` table (the index the service and later analyses query)
plus a folder ``.keepsight/runs/<kind>/<id>/`` holding its result files (JSON, Parquet, PNG),
written atomically. Never pickle: the files must be readable by anything, later.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from keepsight import __version__
from keepsight.config import STATE_DIR
from keepsight.dataset import Dataset, current_user
from keepsight.errors import DatasetError
from keepsight.storage.blobs import atomic_write_bytes
from keepsight.storage.catalog import tables as t
from keepsight.storage.catalog.rows import now

RUNS_DIR = "runs"


def fingerprint(parts: Iterable[Any]) -> str:
    """A stable hash of the inputs of a run (JSON-serialisable parts, in order)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass
class Run:
    id: str
    kind: str
    status: str
    folder: Path
    config: dict[str, Any]
    fingerprint: str
    started_at: datetime
    finished_at: datetime | None = None
    actor: str | None = None
    dataset_version: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def write_json(self, name: str, body: Any) -> Path:
        path = self.folder / name
        atomic_write_bytes(path, json.dumps(body, indent=1, default=str).encode("utf-8"))
        return path

    def read_json(self, name: str) -> Any:
        path = self.folder / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasetError(f"run {self.id} has no {name}", path=path) from None

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        atomic_write_bytes(path, data)
        return path


def runs_root(ds: Dataset) -> Path:
    return ds.root / STATE_DIR / RUNS_DIR


def start_run(
    ds: Dataset, kind: str, config: dict[str, Any], *, fingerprint: str, dataset_version: str | None = None
) -> Run:
    """Record a run as running and make its folder; finish it with :func:`finish_run`."""
    started = now()
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    folder = runs_root(ds) / kind / run_id
    folder.mkdir(parents=True, exist_ok=True)
    run = Run(run_id, kind, "running", folder, config, fingerprint, started, actor=current_user(),
              dataset_version=dataset_version)
    run.write_json("config.json", {"kind": kind, "config": config, "fingerprint": fingerprint,
                                   "keepsight_version": __version__, "dataset_version": dataset_version})
    with ds.transaction() as conn:
        conn.execute(t.runs.insert().values(
            id=run_id, kind=kind, status="running", actor=run.actor, started_at=started, finished_at=None,
            keepsight_version=__version__, dataset_version=dataset_version, fingerprint=fingerprint,
            config=config, summary={},
        ))
    return run


def finish_run(ds: Dataset, run: Run, summary: dict[str, Any], *, status: str = "done") -> Run:
    run.summary = summary
    run.status = status
    run.finished_at = now()
    run.write_json("summary.json", summary)
    with ds.transaction() as conn:
        conn.execute(update(t.runs).where(t.runs.c.id == run.id).values(
            status=status, finished_at=run.finished_at, summary=json.loads(json.dumps(summary, default=str))))
    return run


def _run_from_row(ds: Dataset, row: Any) -> Run:
    return Run(row.id, row.kind, row.status, runs_root(ds) / row.kind / row.id, dict(row.config), row.fingerprint,
               row.started_at, row.finished_at, row.actor, row.dataset_version, dict(row.summary or {}))


def list_runs(ds: Dataset, kind: str | None = None) -> list[Run]:
    """Runs, newest first."""
    query = select(t.runs).order_by(t.runs.c.started_at.desc(), t.runs.c.id.desc())
    if kind is not None:
        query = query.where(t.runs.c.kind == kind)
    with ds.reading() as conn:
        return [_run_from_row(ds, row) for row in conn.execute(query)]


def load_run(ds: Dataset, run_id: str) -> Run:
    with ds.reading() as conn:
        row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
    if row is None:
        raise DatasetError(f"no run with id {run_id!r}")
    return _run_from_row(ds, row)
