"""Gold images: known answers mixed into jobs to measure annotators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from keepsight.service.annotations import parse_set, to_dict
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.policy import allow
from keepsight.service.schemas import AnnotationModel, GoldIn, GoldOut, Ok
from keepsight.service.store import catalog, library
from keepsight.service.store.accounts import Principal
from keepsight.storage.catalog import queries

router = APIRouter(tags=["gold"])


def _out(row: dict[str, Any]) -> GoldOut:
    return GoldOut(sample_id=row["sample_id"], path=row["path"], updated_by=row["updated_by"],
                   updated_at=row["updated_at"], annotations=[AnnotationModel(**a) for a in row["annotations"]])


@router.get("/gold", response_model=list[GoldOut])
def list_gold(_: Principal = allow("gold.read"), ctx: ServiceContext = Depends(get_context)) -> list[GoldOut]:
    with ctx.ds.reading() as conn:
        return [_out(r) for r in library.list_gold(conn)]


@router.put("/gold/{sample_id}", response_model=GoldOut)
def put_gold(sample_id: int, body: GoldIn, principal: Principal = allow("gold.edit"),
             ctx: ServiceContext = Depends(get_context)) -> GoldOut:
    """Make the image a gold image with this known answer (checked like any annotation set)."""
    with ctx.ds.reading() as conn:
        sample = catalog.active_sample(conn, sample_id)
        book = queries.load_labelbook(conn)
    parsed = parse_set([a.model_dump() for a in body.annotations], sample=sample, book=book,
                       tolerance=ctx.ds.config.ingest.out_of_image_tolerance)
    answer = [to_dict(a) | {"revision": None} for a in parsed]
    with ctx.ds.transaction() as conn:
        library.put_gold(conn, sample_id, answer, principal.name)
        return _out(next(r for r in library.list_gold(conn) if r["sample_id"] == sample_id))


@router.delete("/gold/{sample_id}", response_model=Ok)
def delete_gold(sample_id: int, _: Principal = allow("gold.edit"), ctx: ServiceContext = Depends(get_context)) -> Ok:
    with ctx.ds.transaction() as conn:
        library.delete_gold(conn, sample_id)
    return Ok()
