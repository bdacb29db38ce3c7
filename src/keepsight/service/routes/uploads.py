"""Resumable, checksummed uploads: the tus 1.0 protocol (see ``transfers/uploads.py``)."""

from __future__ import annotations

from email.utils import format_datetime

import anyio
from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.requests import ClientDisconnect

from keepsight.errors import DatasetError
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import PreconditionFailed, TooLarge, UnsupportedMediaType
from keepsight.service.policy import allow, public
from keepsight.service.schemas import UploadOut
from keepsight.service.store.accounts import Principal
from keepsight.service.transfers import uploads
from keepsight.service.transfers.uploads import CHECKSUM_ALGORITHMS, TUS_EXTENSIONS, TUS_VERSION, Upload

router = APIRouter(tags=["uploads"])
CHUNK_TYPE = "application/offset+octet-stream"


def _require_tus(version: str | None) -> None:
    if version != TUS_VERSION:
        raise PreconditionFailed(f"send 'Tus-Resumable: {TUS_VERSION}' (the only tus version served here)")


def _headers(upload: Upload) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(upload.received), "Upload-Length": str(upload.length),
            "Upload-Expires": format_datetime(upload.expires_at, usegmt=True), "Cache-Control": "no-store"}


@router.options("/uploads", status_code=204, response_class=Response, dependencies=[public()])
def discover(ctx: ServiceContext = Depends(get_context)) -> Response:
    """tus discovery: version, extensions, size limit, checksum algorithms."""
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(ctx.settings.max_upload_bytes), "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS})


@router.post("/uploads", status_code=201, response_class=Response,
             responses={201: {"description": "created; Location names the upload"}, 413: {"description": "too large"}})
def create_upload(principal: Principal = allow("uploads.write"), ctx: ServiceContext = Depends(get_context),
                  tus_resumable: str | None = Header(None), upload_length: str | None = Header(None),
                  upload_metadata: str | None = Header(None)) -> Response:
    """Open an upload: ``Upload-Length`` and ``Upload-Metadata`` (``filename``, ``sha256``; optional ``path``,
    ``split``, ``format``)."""
    _require_tus(tus_resumable)
    if upload_length is None or not upload_length.isdigit():
        raise DatasetError("Upload-Length (a whole number of bytes) is required")
    upload = uploads.create(ctx, principal, length=int(upload_length),
                            metadata=uploads.parse_metadata(upload_metadata))
    return Response(status_code=201, headers=_headers(upload) | {"Location": f"/uploads/{upload.id}"})


@router.head("/uploads/{upload_id}", response_class=Response,
             responses={200: {"description": "Upload-Offset says where to resume"}})
def upload_offset(upload_id: str, principal: Principal = allow("uploads.write"),
                  ctx: ServiceContext = Depends(get_context), tus_resumable: str | None = Header(None)) -> Response:
    _require_tus(tus_resumable)
    return Response(status_code=200, headers=_headers(uploads.get(ctx, principal, upload_id)))


@router.patch("/uploads/{upload_id}", status_code=204, response_class=Response,
              responses={204: {"description": "chunk stored; Upload-Offset is the new offset"},
                         409: {"description": "Upload-Offset does not match"}, 460: {"description": "checksum mismatch"}})
async def upload_chunk(upload_id: str, request: Request, principal: Principal = allow("uploads.write"),
                       ctx: ServiceContext = Depends(get_context), tus_resumable: str | None = Header(None),
                       upload_offset: str | None = Header(None), upload_checksum: str | None = Header(None),
                       content_type: str | None = Header(None)) -> Response:
    """Append one chunk at ``Upload-Offset`` (``Upload-Checksum: sha256 <base64>`` verifies it first). The last chunk
    triggers the whole-file sha256 check and the import; its result is at ``GET /uploads/{id}``."""
    _require_tus(tus_resumable)
    if (content_type or "").split(";")[0].strip() != CHUNK_TYPE:
        raise UnsupportedMediaType(f"a tus PATCH carries Content-Type: {CHUNK_TYPE}")
    if upload_offset is None or not upload_offset.isdigit():
        raise DatasetError("Upload-Offset (a whole number of bytes) is required")
    limit = ctx.settings.max_chunk_bytes
    body = bytearray()
    try:
        async for piece in request.stream():
            body += piece
            if len(body) > limit:
                raise TooLarge(f"a chunk may hold {limit} bytes")
    except ClientDisconnect:
        # A chunk that did not arrive whole is dropped: the client resumes from the unchanged offset.
        raise DatasetError("the connection closed before the chunk arrived whole; nothing was stored") from None
    upload = await anyio.to_thread.run_sync(lambda: uploads.append(
        ctx, principal, upload_id, offset=int(upload_offset), data=bytes(body), checksum=upload_checksum))
    return Response(status_code=204, headers=_headers(upload) | {"Keepsight-Upload-State": upload.state})


@router.delete("/uploads/{upload_id}", status_code=204, response_class=Response)
def terminate_upload(upload_id: str, principal: Principal = allow("uploads.write"),
                     ctx: ServiceContext = Depends(get_context), tus_resumable: str | None = Header(None)) -> Response:
    """tus termination: give up an unfinished upload and free its space."""
    _require_tus(tus_resumable)
    uploads.terminate(ctx, principal, upload_id)
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})


@router.get("/uploads/{upload_id}", response_model=UploadOut)
def upload_status(upload_id: str, principal: Principal = allow("uploads.write"),
                  ctx: ServiceContext = Depends(get_context)) -> UploadOut:
    """The upload's state and, once imported, the import report (a keepsight addition to tus)."""
    u = uploads.get(ctx, principal, upload_id)
    return UploadOut(id=u.id, filename=u.filename, length=u.length, offset=u.received, sha256=u.sha256, state=u.state,
                     expires_at=u.expires_at, result=u.result, error=u.error)
