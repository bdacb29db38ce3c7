"""The catalog's images and their accepted annotations (staff, reviewers, viewers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from keepsight.model.annotation import normalize_split
from keepsight.service.annotations import parse_set
from keepsight.service.commit import current_set, save_set
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.findings import findings_for
from keepsight.service.policy import allow
from keepsight.service.routes.media import IMAGE_RESPONSES, image_response
from keepsight.service.schemas import (
    AnnotationModel,
    AnnotationSaveIn,
    AnnotationSetOut,
    ConflictOut,
    FindingsOut,
    SampleOut,
)
from keepsight.service.store import catalog
from keepsight.service.store.accounts import Principal
from keepsight.storage.catalog import queries

router = APIRouter(tags=["samples"])


@router.get("/samples", response_model=list[SampleOut])
def list_samples(after: int = Query(0, ge=0, description="samples with a larger id (for paging)"),
                 limit: int = Query(100, ge=1, le=1000), split: str | None = Query(None),
                 _: Principal = allow("samples.read"), ctx: ServiceContext = Depends(get_context)) -> list[SampleOut]:
    with ctx.ds.reading() as conn:
        page = catalog.page_of_samples(conn, after=after, limit=limit, split=normalize_split(split) if split else None)
        counts = catalog.annotation_counts(conn, [s.id for s in page])
    return [SampleOut(id=s.id, path=s.path, width=s.width, height=s.height, split=s.split, verdict=s.verdict,
                      format=s.format, annotations=counts.get(s.id, 0)) for s in page]


@router.get("/samples/{sample_id}", response_model=SampleOut)
def get_sample(sample_id: int, _: Principal = allow("samples.read"),
               ctx: ServiceContext = Depends(get_context)) -> SampleOut:
    with ctx.ds.reading() as conn:
        s = catalog.active_sample(conn, sample_id)
        count = catalog.annotation_counts(conn, [s.id]).get(s.id, 0)
    return SampleOut(id=s.id, path=s.path, width=s.width, height=s.height, split=s.split, verdict=s.verdict,
                     format=s.format, annotations=count)


@router.get("/samples/{sample_id}/image", response_class=Response, responses=IMAGE_RESPONSES)
def sample_image(sample_id: int, request: Request, _: Principal = allow("samples.read"),
                 ctx: ServiceContext = Depends(get_context)) -> Response:
    with ctx.ds.reading() as conn:
        sample = catalog.active_sample(conn, sample_id)
    return image_response(ctx, sample, request)


@router.get("/samples/{sample_id}/annotations", response_model=AnnotationSetOut)
def sample_annotations(sample_id: int, _: Principal = allow("samples.read"),
                       ctx: ServiceContext = Depends(get_context)) -> AnnotationSetOut:
    """The catalog's annotations of the image and the set's revision (for a later save)."""
    with ctx.ds.reading() as conn:
        catalog.active_sample(conn, sample_id)
        revision, items = current_set(conn, sample_id)
    return AnnotationSetOut(revision=revision, annotations=[AnnotationModel(**a) for a in items])


@router.put("/samples/{sample_id}/annotations", response_model=AnnotationSetOut,
            responses={409: {"model": ConflictOut, "description": "changed since base_revision"}})
def save_sample_annotations(sample_id: int, body: AnnotationSaveIn, principal: Principal = allow("samples.edit"),
                            ctx: ServiceContext = Depends(get_context)) -> AnnotationSetOut:
    """Replace the image's catalog annotations, if nobody changed them since ``base_revision``."""
    with ctx.ds.reading() as conn:
        sample = catalog.active_sample(conn, sample_id)
        book = queries.load_labelbook(conn)
    parsed = parse_set([a.model_dump() for a in body.annotations], sample=sample, book=book,
                       tolerance=ctx.ds.config.ingest.out_of_image_tolerance)
    with ctx.ds.transaction() as conn:
        revision, items, _ = save_set(conn, sample_id, base_revision=body.base_revision, new=parsed,
                                      author=principal.name, reason=f"edited in the service by {principal.name}")
    return AnnotationSetOut(revision=revision, annotations=[AnnotationModel(**a) for a in items])


@router.get("/samples/{sample_id}/findings", response_model=FindingsOut)
def sample_findings(sample_id: int, run_id: str | None = Query(None, description="an audit run (default: the newest)"),
                    _: Principal = allow("samples.read"), ctx: ServiceContext = Depends(get_context)) -> FindingsOut:
    with ctx.ds.reading() as conn:
        catalog.active_sample(conn, sample_id)
    return FindingsOut(**findings_for(ctx, sample_id, run_id))
