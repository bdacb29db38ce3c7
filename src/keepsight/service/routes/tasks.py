"""Annotation tasks: create from a query, hand out, merge consensus, measure agreement and quality."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from keepsight.service import tasks
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.policy import allow
from keepsight.service.quality import annotator_quality, task_agreement
from keepsight.service.schemas import AgreementOut, AssignIn, AssignOut, MergeIn, MergeOut, QualityOut, TaskOut
from keepsight.service.store import work
from keepsight.service.store.accounts import Principal

router = APIRouter(tags=["tasks"])


def _out(task: dict[str, Any], jobs: dict[str, int]) -> TaskOut:
    return TaskOut(**task, jobs=jobs)


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(_: Principal = allow("tasks.read"), ctx: ServiceContext = Depends(get_context)) -> list[TaskOut]:
    with ctx.ds.reading() as conn:
        rows = work.list_tasks(conn)
        counts = work.job_state_counts(conn, [r["id"] for r in rows])
    return [_out(r, counts.get(r["id"], {})) for r in rows]


@router.post("/tasks", response_model=TaskOut, status_code=201)
def create_task(body: tasks.TaskSpec, principal: Principal = allow("tasks.manage"),
                ctx: ServiceContext = Depends(get_context)) -> TaskOut:
    """Select images with a query, split them into jobs (with consensus copies and gold images), optionally assign."""
    task_id = tasks.create_task(ctx, body, by=principal.name)
    with ctx.ds.reading() as conn:
        return _out(work.get_task(conn, task_id), work.job_state_counts(conn, [task_id]).get(task_id, {}))


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: int, _: Principal = allow("tasks.read"), ctx: ServiceContext = Depends(get_context)) -> TaskOut:
    with ctx.ds.reading() as conn:
        return _out(work.get_task(conn, task_id), work.job_state_counts(conn, [task_id]).get(task_id, {}))


@router.post("/tasks/{task_id}/assign", response_model=AssignOut)
def assign_task(task_id: int, body: AssignIn, _: Principal = allow("tasks.manage"),
                ctx: ServiceContext = Depends(get_context)) -> AssignOut:
    """Give every unassigned new job to the least-loaded annotator who holds no copy of its consensus images."""
    return AssignOut(**tasks.assign_task(ctx, task_id, body.annotators))


@router.post("/tasks/{task_id}/merge", response_model=list[MergeOut])
def merge_task(task_id: int, body: MergeIn, principal: Principal = allow("tasks.manage"),
               ctx: ServiceContext = Depends(get_context)) -> list[MergeOut]:
    """Merge by vote every consensus image whose copies were all accepted, into the catalog."""
    return [MergeOut(**r) for r in tasks.merge_task(ctx, task_id, min_votes=body.min_votes, by=principal.name)]


@router.get("/tasks/{task_id}/agreement", response_model=AgreementOut)
def agreement(task_id: int, _: Principal = allow("tasks.read"), ctx: ServiceContext = Depends(get_context)) -> AgreementOut:
    """Agreement per class and per annotator over the task's consensus images (submitted copies)."""
    report = task_agreement(ctx, task_id)
    return AgreementOut(**report.as_dict(), iou_threshold=ctx.settings.match_iou)


@router.get("/quality", response_model=list[QualityOut])
def quality(_: Principal = allow("quality.read"), ctx: ServiceContext = Depends(get_context)) -> list[QualityOut]:
    """A quality score per annotator: gold F1, consensus agreement and review acceptance."""
    return [QualityOut(**row) for row in annotator_quality(ctx)]
