"""Exports: made on request, downloaded through signed, expiring links."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from keepsight.service.context import ServiceContext, get_context
from keepsight.service.policy import allow, signed
from keepsight.service.schemas import ExportIn, ExportOut
from keepsight.service.store import transfers
from keepsight.service.store.accounts import Principal
from keepsight.service.transfers import exports

router = APIRouter(tags=["exports"])


def _out(ctx: ServiceContext, row: dict[str, Any]) -> ExportOut:
    fields = {k: row[k] for k in ("id", "format", "options", "size", "sha256", "report", "created_by")}
    return ExportOut(**fields, **exports.signed_link(ctx, row["id"]))


@router.post("/exports", response_model=ExportOut, status_code=201)
def create_export(body: ExportIn, principal: Principal = allow("exports.create"),
                  ctx: ServiceContext = Depends(get_context)) -> ExportOut:
    """Export the dataset in a format (as ``keepsight export``) into a zip; returns a signed download link."""
    values = exports.create(ctx, format=body.format, splits=body.splits or None, strict=body.strict, by=principal.name)
    return _out(ctx, values)


@router.get("/exports", response_model=list[ExportOut])
def list_exports(_: Principal = allow("exports.create"), ctx: ServiceContext = Depends(get_context)) -> list[ExportOut]:
    """Earlier exports, each with a fresh signed link."""
    with ctx.ds.reading() as conn:
        return [_out(ctx, r) for r in transfers.list_exports(conn)]


@router.get("/exports/{export_id}/download", response_class=FileResponse, dependencies=[signed()],
            responses={200: {"content": {"application/zip": {}}, "description": "the export (Range requests work)"},
                       403: {"description": "the link is expired or its signature is wrong"}})
def download_export(export_id: str, expires: int = Query(...), signature: str = Query(...),
                    ctx: ServiceContext = Depends(get_context)) -> FileResponse:
    """Download through a signed link: no account needed while the link is valid."""
    path, row = exports.file_for_link(ctx, export_id, expires=expires, signature=signature)
    return FileResponse(path, media_type="application/zip", filename=f"{row['format']}-{export_id}.zip",
                        headers={"X-Checksum-Sha256": row["sha256"],
                                 "Repr-Digest": f"sha-256=:{_b64(row['sha256'])}:"})


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
