"""Retraining requests: saved runs of kind ``retrain-request``, listable with ``keepsight drift requests``.

    .keepsight/runs/retrain-request/<id>/
        request.json   policy, reason, dataset version, affected models, proposal, action results
        images/        copies of the production images selected for annotation
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keepsight.dataset import Dataset
from keepsight.drift import lineage
from keepsight.drift.actions import ActionResult, post_webhook, run_command
from keepsight.drift.analysis import Alarm
from keepsight.drift.config import DriftConfig
from keepsight.drift.policies import Firing, PolicyEngine
from keepsight.drift.pool import CandidatePool
from keepsight.drift.proposal import propose_next_version
from keepsight.drift.reference import ReferenceProfile, reference_for
from keepsight.drift.selection import select_for_annotation
from keepsight.drift.windows import Clock
from keepsight.errors import DatasetError
from keepsight.runs import Run, fingerprint, finish_run, list_runs, load_run, start_run

KIND = "retrain-request"


@dataclass
class RetrainRequest:
    id: str
    folder: Path
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(a["ok"] for a in self.body.get("actions", []))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "folder": str(self.folder), **self.body}


def _copy_selected(run: Run, add: list[dict[str, Any]]) -> None:
    folder = run.folder / "images"
    for k, item in enumerate(add):
        source = Path(item["source"]) if item.get("source") else None
        if source is None or not source.is_file():
            item["copy"] = None
            continue
        dest = folder / f"{k:04d}-{Path(item['name']).name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        item["copy"] = str(dest)


def _actions(ds: Dataset, firing: Firing, run: Run, body: dict[str, Any]) -> list[ActionResult]:
    policy = firing.policy
    results = []
    if policy.command:
        env = {"KEEPSIGHT_REQUEST_ID": run.id, "KEEPSIGHT_REQUEST_FILE": str(run.folder / "request.json"),
               "KEEPSIGHT_DATASET": str(ds.root), "KEEPSIGHT_POLICY": policy.name,
               "KEEPSIGHT_DATASET_VERSION": str(body["dataset_version"])}
        results.append(run_command(policy.command, env=env, cwd=ds.root, timeout=policy.timeout))
    if policy.webhook:
        results.append(post_webhook(policy.webhook, body, timeout=policy.timeout))
    return results


def create_request(ds: Dataset, firing: Firing, *, reference: ReferenceProfile, pool: CandidatePool,
                   alarms: list[Alarm], config: DriftConfig) -> RetrainRequest:
    """Record a request, propose the next version, select images to annotate, and run the policy's actions."""
    policy = firing.policy
    version = reference.version
    models = lineage.affected_models(ds, version)
    candidates = pool.candidates(drifted_only=policy.kind == "drift")
    picks = select_for_annotation(np.stack([c.embedding for c in candidates]) if candidates else np.zeros((0, 1)),
                                  policy.budget, training=reference.embeddings,
                                  digests=[c.digest for c in candidates])
    proposal = propose_next_version(reference, list(pool.items), candidates, picks,
                                    max_remove_fraction=config.selection.max_remove_fraction,
                                    min_pool_for_removal=config.selection.min_pool_for_removal)
    run = start_run(ds, KIND, {"policy": policy.model_dump(mode="json")},
                    fingerprint=fingerprint([policy.name, firing.at.isoformat(), firing.reason]),
                    dataset_version=version)
    _copy_selected(run, proposal["add"])
    body: dict[str, Any] = {
        "request_id": run.id, "policy": policy.name, "kind": policy.kind, "reason": firing.reason,
        "at": firing.at.isoformat(), "dataset": str(ds.root), "dataset_version": version, "models": models,
        "trigger": firing.trigger, "alarms": [a.as_dict() | {"examples": []} for a in alarms[-5:]],
        "budget": policy.budget, "proposal": proposal, "actions": [],
    }
    run.write_json("request.json", body)
    body["actions"] = [a.as_dict() for a in _actions(ds, firing, run, body)]
    run.write_json("request.json", body)
    finish_run(ds, run, {
        "policy": policy.name, "kind": policy.kind, "reason": firing.reason, "at": firing.at.isoformat(),
        "dataset_version": version, "models": lineage.model_names(models), "add": len(proposal["add"]),
        "re_annotate": len(proposal["re_annotate"]), "remove": len(proposal["remove"]),
        "actions": [{"kind": a["kind"], "ok": a["ok"], "detail": a["detail"]} for a in body["actions"]],
    })
    return RetrainRequest(run.id, run.folder, body)


def list_requests(ds: Dataset) -> list[RetrainRequest]:
    """Every retraining request, newest first."""
    return [RetrainRequest(r.id, r.folder, r.read_json("request.json")) for r in list_runs(ds, KIND)
            if (r.folder / "request.json").exists()]


def load_request(ds: Dataset, request_id: str) -> RetrainRequest:
    run = load_run(ds, request_id)
    if run.kind != KIND:
        raise DatasetError(f"run {request_id} is a {run.kind} run, not a retraining request")
    return RetrainRequest(run.id, run.folder, run.read_json("request.json"))


def evaluate_due(ds: Dataset, *, clock: Clock, config: DriftConfig | None = None) -> list[RetrainRequest]:
    """Fire the schedule and annotated-count policies that are due now (for cron, without a running monitor)."""
    config = config or ds.config.drift
    firings = PolicyEngine(ds, list(config.policies), clock=clock).on_tick()
    if not firings:
        return []
    reference = reference_for(ds, config=config)
    with tempfile.TemporaryDirectory() as tmp:
        pool = CandidatePool(config.selection.pool, Path(tmp))
        return [create_request(ds, f, reference=reference, pool=pool, alarms=[], config=config) for f in firings]
