"""Annotation tasks: a query made into jobs, handed out by load, and consensus merged by vote."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from keepsight.errors import DatasetError
from keepsight.model.annotation import Annotation
from keepsight.service import selection
from keepsight.service.annotations import from_dict, to_dict
from keepsight.service.commit import commit_three_way
from keepsight.service.context import ServiceContext
from keepsight.service.errors import StateConflict
from keepsight.service.merge import merge_by_vote
from keepsight.service.planning import OpenJob, assign_by_load, choose_consensus, plan_jobs
from keepsight.service.schemas import Stamp
from keepsight.service.store import accounts, library, work
from keepsight.service.store.catalog import snapshots
from keepsight.storage.catalog.rows import new_uid


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=200)
    description: str = ""
    query: selection.TaskQuery
    job_size: int | None = Field(None, ge=1, description="images per job (default: service.job_size)")
    deadline: Stamp | None = None
    consensus_share: float = Field(0.0, ge=0.0, le=1.0, description="share of the images labelled blind by several")
    consensus_annotators: int = Field(2, ge=2, le=20, description="annotators per consensus image")
    gold_per_job: int = Field(0, ge=0, le=1000, description="gold images (known answers) mixed into each job")
    seed: int = Field(0, description="seed of the random choices (consensus images, gold images, order)")
    assign: Literal["none", "load"] = Field("none", description="'load': hand the jobs out to the least loaded")
    annotators: list[str] = Field(default_factory=list, description="for assign=load: only these users")


def create_task(ctx: ServiceContext, spec: TaskSpec, *, by: str) -> int:
    sample_ids = selection.resolve(ctx.ds, spec.query)
    if not sample_ids:
        raise DatasetError(f"the query selects no images: {spec.query.model_dump()}")
    rng = np.random.default_rng(spec.seed)
    consensus = choose_consensus(sample_ids, spec.consensus_share, rng)
    job_size = spec.job_size or ctx.settings.job_size
    with ctx.ds.transaction() as conn:
        if spec.assign == "load":
            _assignment_pool(conn, ctx.dataset_key, spec.annotators)  # refuse before anything is made
        gold_pool = list(library.gold_answers(conn))
        planned = plan_jobs(sample_ids, job_size=job_size, consensus=consensus, copies=spec.consensus_annotators,
                            gold_pool=gold_pool, gold_per_job=spec.gold_per_job, rng=rng)
        snaps = snapshots(conn, sample_ids)
        task_id = work.insert_task(conn, {
            "name": spec.name, "description": spec.description, "query": spec.query.model_dump(mode="json"),
            "job_size": job_size, "consensus_share": spec.consensus_share,
            "consensus_annotators": spec.consensus_annotators, "gold_per_job": spec.gold_per_job,
            "deadline": spec.deadline, "created_by": by})
        work.insert_jobs(conn, task_id, planned, deadline=spec.deadline,
                         drafts={s: (snaps[s], snaps[s]) for s in sample_ids if s not in consensus})
        work.insert_consensus(conn, task_id, {s: snaps[s] for s in sorted(consensus)}, spec.consensus_annotators)
    if spec.assign == "load":
        assign_task(ctx, task_id, spec.annotators)
    return task_id


def _assignment_pool(conn: Connection, dataset: str, names: list[str]) -> list[dict[str, Any]]:
    """The users jobs may go to: ``names`` (none disabled or a viewer), or every active annotator."""
    members = accounts.list_users(conn, dataset)
    if names:
        by_name = {m["name"]: m for m in members}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise DatasetError(f"no users {unknown} in this dataset")
        pool = [by_name[n] for n in names]
        idle = [m["name"] for m in pool if not m["active"] or m["role"] == "viewer"]
        if idle:
            raise DatasetError(f"users {idle} are disabled or viewers and cannot take jobs")
    else:
        pool = [m for m in members if m["active"] and m["role"] == "annotator"]
    if not pool:
        raise DatasetError("there is no active annotator to assign jobs to; add one with POST /users")
    return pool


def assign_task(ctx: ServiceContext, task_id: int, names: list[str]) -> dict[str, Any]:
    """Give the task's unassigned new jobs to the least-loaded annotators (or to ``names`` only)."""
    with ctx.ds.transaction() as conn:
        work.lock_task(conn, task_id)
        pool = _assignment_pool(conn, ctx.dataset_key, names)
        jobs = [j for j in work.list_jobs(conn, task_id=task_id, state="new") if j.assignee_id is None]
        counts = work.item_counts(conn, [j.id for j in jobs])
        consensus = work.consensus_samples_of_jobs(conn, [j.id for j in jobs])
        open_jobs = [OpenJob(j.id, sum(counts[j.id].values()), consensus[j.id]) for j in jobs]
        chosen = assign_by_load(open_jobs, [int(m["id"]) for m in pool], work.open_load(conn),
                                work.consensus_holders(conn, task_id))
        for job_id, user_id in chosen.items():
            work.assign_job(conn, job_id, user_id, only_if_unassigned=True)
    names_by_id = {int(m["id"]): m["name"] for m in pool}
    per_user: dict[str, int] = {}
    for user_id in chosen.values():
        per_user[names_by_id[user_id]] = per_user.get(names_by_id[user_id], 0) + 1
    return {"assigned": len(chosen), "unassigned": len(open_jobs) - len(chosen), "jobs_per_user": per_user}


def merge_task(ctx: ServiceContext, task_id: int, *, min_votes: int | None, by: str) -> list[dict[str, Any]]:
    """Merge every consensus image whose copies are all accepted; each image in its own transaction."""
    settings = ctx.settings
    with ctx.ds.reading() as conn:
        work.get_task(conn, task_id)
        rows = [r for r in work.consensus_rows(conn, task_id) if r["state"] == "open"]
        copies = work.consensus_copies(conn, task_id, usable_only=False)
    results = []
    for row in rows:
        accepted = [c for c in copies.get(row["sample_id"], []) if c["review"] == "accepted"]
        entry: dict[str, Any] = {"sample_id": row["sample_id"], "copies": row["copies"], "accepted": len(accepted)}
        if len(accepted) < row["copies"]:
            results.append(entry | {"state": "waiting"})
            continue
        by_user = {str(c["user"] or f"item-{c['item_id']}"): [from_dict(d) for d in c["annotations"]] for c in accepted}
        merged = [Annotation(a.label, a.geometry, a.attributes, uid=new_uid())
                  for a in merge_by_vote(by_user, threshold=settings.match_iou, tolerance=settings.line_tolerance,
                                         min_votes=min_votes)]
        try:
            with ctx.ds.transaction() as conn:
                result = commit_three_way(conn, row["sample_id"], base=row["base"], ours=merged, author=by,
                                          reason=f"consensus merge of task {task_id}")
                if not work.mark_merged(conn, row["id"], result=[to_dict(a) for a in merged], by=by):
                    raise StateConflict(f"sample {row['sample_id']} was merged meanwhile")
        except StateConflict as exc:
            results.append(entry | {"state": "conflict", "reason": exc.reason})
            continue
        results.append(entry | {"state": "merged", "annotations": len(merged), **result.as_dict()})
    return results
