"""Jobs and their images: annotators see only their own; reviewers accept or reject per image."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from keepsight.service import jobs
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.findings import findings_for
from keepsight.service.policy import ItemAccess, JobAccess, allow, item_access, job_access
from keepsight.service.routes.media import IMAGE_RESPONSES, image_response
from keepsight.service.schemas import (
    AnnotationModel,
    AnnotationSaveIn,
    AnnotationSetOut,
    AssigneeIn,
    ConflictOut,
    FindingsOut,
    ItemReviewIn,
    JobDetailOut,
    JobOut,
    JobPatch,
    JobReviewIn,
    ReviewOut,
)
from keepsight.service.store import catalog, work
from keepsight.service.store.accounts import Principal

router = APIRouter(tags=["jobs"])

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ConflictOut, "description": "saved by someone else since base_revision"}}


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(task_id: int | None = Query(None), state: str | None = Query(None),
              assignee: str | None = Query(None, description="a user name"),
              principal: Principal = allow("jobs.read"), ctx: ServiceContext = Depends(get_context)) -> list[JobOut]:
    """Jobs, filtered; an annotator always gets only the jobs assigned to them."""
    for_annotator = principal.role == "annotator"
    with ctx.ds.reading() as conn:
        rows = work.list_jobs(conn, task_id=task_id, state=state,
                              assignee_id=principal.user_id if for_annotator else None)
        if assignee is not None:
            rows = [j for j in rows if j.assignee == assignee]
        counts = work.item_counts(conn, [j.id for j in rows])
    return [JobOut(**jobs.job_summary(j, counts.get(j.id, {}), for_annotator=for_annotator)) for j in rows]


@router.get("/jobs/{job_id}", response_model=JobDetailOut)
def get_job(access: JobAccess = job_access("jobs.read"), ctx: ServiceContext = Depends(get_context)) -> JobDetailOut:
    return JobDetailOut(**jobs.job_detail(ctx, access.job, access.principal))


@router.patch("/jobs/{job_id}", response_model=JobDetailOut)
def update_job(body: JobPatch, access: JobAccess = job_access("jobs.manage"),
               ctx: ServiceContext = Depends(get_context)) -> JobDetailOut:
    """Set or clear the job's deadline."""
    jobs.set_deadline(ctx, access.job, body.deadline)
    return _reload(ctx, access)


@router.put("/jobs/{job_id}/assignee", response_model=JobDetailOut)
def assign_job(body: AssigneeIn, access: JobAccess = job_access("jobs.manage"),
               ctx: ServiceContext = Depends(get_context)) -> JobDetailOut:
    """Give the job to a user by hand (consensus copies stay with different annotators)."""
    jobs.assign(ctx, access.job, body.user)
    return _reload(ctx, access)


@router.post("/jobs/{job_id}/start", response_model=JobDetailOut)
def start_job(access: JobAccess = job_access("jobs.work"), ctx: ServiceContext = Depends(get_context)) -> JobDetailOut:
    jobs.start(ctx, access.job, access.principal)
    return _reload(ctx, access)


@router.post("/jobs/{job_id}/submit", response_model=JobDetailOut)
def submit_job(access: JobAccess = job_access("jobs.work"), ctx: ServiceContext = Depends(get_context)) -> JobDetailOut:
    """Hand the job in for review (gold images are scored now)."""
    jobs.submit(ctx, access.job, access.principal)
    return _reload(ctx, access)


@router.post("/jobs/{job_id}/review", response_model=ReviewOut)
def review_job(body: JobReviewIn, access: JobAccess = job_access("jobs.review"),
               ctx: ServiceContext = Depends(get_context)) -> ReviewOut:
    """Accept the job (every image not yet reviewed is accepted and committed) or reject it with a comment."""
    result = jobs.review_job(ctx, access.job, decision=body.decision, comment=body.comment, resolve=body.resolve,
                             principal=access.principal)
    return ReviewOut(job_state=result["state"], committed={"images": result["committed"]})


def _reload(ctx: ServiceContext, access: JobAccess) -> JobDetailOut:
    with ctx.ds.reading() as conn:
        job = work.get_job(conn, access.job.id)
    return JobDetailOut(**jobs.job_detail(ctx, job, access.principal))


# -- one image of a job -----------------------------------------------------------------------

@router.get("/jobs/{job_id}/items/{item_id}/image", response_class=Response, responses=IMAGE_RESPONSES)
def item_image(request: Request, access: ItemAccess = item_access("items.read"),
               ctx: ServiceContext = Depends(get_context)) -> Response:
    with ctx.ds.reading() as conn:
        sample = catalog.active_sample(conn, access.item.sample_id)
    return image_response(ctx, sample, request)


@router.get("/jobs/{job_id}/items/{item_id}/annotations", response_model=AnnotationSetOut)
def item_annotations(access: ItemAccess = item_access("items.read"),
                     ctx: ServiceContext = Depends(get_context)) -> AnnotationSetOut:
    """The job's own copy (draft) of the image's annotations and its revision."""
    revision, items = jobs.read_draft(ctx, access.item)
    return AnnotationSetOut(revision=revision, annotations=[AnnotationModel(**a) for a in items])


@router.put("/jobs/{job_id}/items/{item_id}/annotations", response_model=AnnotationSetOut, responses=CONFLICT)
def save_item_annotations(body: AnnotationSaveIn, access: ItemAccess = item_access("items.edit"),
                          ctx: ServiceContext = Depends(get_context)) -> AnnotationSetOut:
    """Autosave: the whole annotation set of the image, on top of ``base_revision`` (409 with the current set if
    someone saved meanwhile)."""
    revision, items = jobs.save_draft(ctx, access.job, access.item, base_revision=body.base_revision,
                                      annotations=[a.model_dump() for a in body.annotations],
                                      principal=access.principal)
    return AnnotationSetOut(revision=revision, annotations=[AnnotationModel(**a) for a in items])


@router.get("/jobs/{job_id}/items/{item_id}/findings", response_model=FindingsOut)
def item_findings(run_id: str | None = Query(None, description="an audit run (default: the newest)"),
                  access: ItemAccess = item_access("items.read"),
                  ctx: ServiceContext = Depends(get_context)) -> FindingsOut:
    """What the audit found on this image (boxes to draw are in each finding's evidence)."""
    return FindingsOut(**findings_for(ctx, access.item.sample_id, run_id))


@router.post("/jobs/{job_id}/items/{item_id}/review", response_model=ReviewOut)
def review_item(body: ItemReviewIn, access: ItemAccess = item_access("jobs.review"),
                ctx: ServiceContext = Depends(get_context)) -> ReviewOut:
    """Accept (a normal image's draft enters the catalog) or reject (with a comment) one image."""
    committed = jobs.review_item(ctx, access.job, access.item, verdict=body.verdict, comment=body.comment,
                                 resolve=body.resolve, principal=access.principal)
    with ctx.ds.reading() as conn:
        job, item = work.get_job(conn, access.job.id), work.get_item(conn, access.job.id, access.item.id)
    return ReviewOut(job_state=job.state, item_review=item.review, committed=committed)
