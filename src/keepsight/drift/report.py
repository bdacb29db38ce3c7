"""Reading saved drift sessions back (for ``keepsight drift report RUN``), finished or still running."""

from __future__ import annotations

import json
from typing import Any

from keepsight.dataset import Dataset
from keepsight.drift.monitor import KIND
from keepsight.drift.reference import load_reference, reference_dir
from keepsight.errors import DatasetError
from keepsight.runs import list_runs, load_run


def scene_png(ds: Dataset, version: str) -> bytes | None:
    path = reference_dir(ds, version) / "scene.png"
    return path.read_bytes() if path.exists() else None


def load_session(ds: Dataset, run_id: str | None = None) -> dict[str, Any]:
    """The session document of a drift run (default: the newest); rebuilt from its window files while it runs."""
    if run_id is None:
        runs = list_runs(ds, KIND)
        if not runs:
            raise DatasetError("no drift run yet: run 'keepsight drift check DIR' or 'keepsight monitor --watch DIR'")
        run = runs[0]
    else:
        run = load_run(ds, run_id)
        if run.kind != KIND:
            raise DatasetError(f"run {run_id} is a {run.kind} run, not a drift run")
    if (run.folder / "session.json").exists():
        return dict(run.read_json("session.json"))
    windows = []
    for path in sorted((run.folder / "windows").glob("*.json")):
        window = json.loads(path.read_text(encoding="utf-8"))
        window.pop("observations", None)
        windows.append(window)
    alarms = run.read_json("alarms.json") if (run.folder / "alarms.json").exists() else []
    reference = load_reference(ds, run.dataset_version) if run.dataset_version else None
    if reference is None:
        raise DatasetError(f"the reference of run {run.id} (version {run.dataset_version}) is gone")
    return {
        "run": run.id, "reference": reference.summary(), "images": windows[-1]["last"] + 1 if windows else 0,
        "windows": windows, "alarms": alarms, "requests": [], "skipped": [],
        "summary": {"windows": len(windows), "drifted_windows": sum(w["drifted"] for w in windows),
                    "alarms": len(alarms), "categories": sorted({a["category"] for a in alarms}), "requests": 0,
                    "status": run.status},
    }
