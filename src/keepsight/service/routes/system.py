"""Liveness and a short summary of the served dataset."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from keepsight import __version__
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.policy import allow, public
from keepsight.service.roles import ROLES
from keepsight.service.schemas import InfoOut, Ok
from keepsight.service.store.accounts import Principal
from keepsight.storage.catalog import queries

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Ok, dependencies=[public()])
def health() -> Ok:
    return Ok()


@router.get("/info", response_model=InfoOut)
def info(_: Principal = allow("info.read"), ctx: ServiceContext = Depends(get_context)) -> InfoOut:
    with ctx.ds.reading() as conn:
        samples = queries.count_samples(conn)
        kinds, _labels = queries.annotation_counts(conn)
        classes = queries.load_labelbook(conn).names()
    s = ctx.settings
    return InfoOut(dataset=ctx.dataset_key, samples=samples, annotations=kinds, classes=classes, roles=list(ROLES),
                   limits={"max_upload_bytes": s.max_upload_bytes, "max_chunk_bytes": s.max_chunk_bytes,
                           "job_size": s.job_size, "link_ttl_seconds": s.link_ttl_seconds},
                   version=__version__)
