"""The audit's findings on one image, from the newest finished audit run (or a named one)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from keepsight.errors import DatasetError
from keepsight.runs import Run, list_runs, load_run
from keepsight.service.context import ServiceContext
from keepsight.service.errors import NotFound

_SHOWN = ("check", "severity", "message", "label", "annotations", "score", "evidence", "action")


def _audit_run(ctx: ServiceContext, run_id: str | None) -> Run | None:
    if run_id is None:
        done = [r for r in list_runs(ctx.ds, "audit") if r.status == "done"]
        return done[0] if done else None
    try:
        run = load_run(ctx.ds, run_id)
    except DatasetError:
        raise NotFound(f"no run {run_id!r}") from None
    if run.kind != "audit":
        raise NotFound(f"run {run_id} is a {run.kind} run, not an audit")
    return run


def findings_for(ctx: ServiceContext, sample_id: int, run_id: str | None = None) -> dict[str, Any]:
    run = _audit_run(ctx, run_id)
    if run is None:
        return {"run_id": None, "findings": []}

    def load() -> dict[int, list[dict[str, Any]]]:
        index: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for finding in run.read_json("findings.json").get("findings", []):
            shown = {k: finding.get(k) for k in _SHOWN}
            for sample in finding.get("samples", []):
                index[int(sample)].append(shown)
        return dict(index)

    return {"run_id": run.id, "findings": ctx.findings_index(run.id, load).get(sample_id, [])}
