"""Image bytes, sent only after the route's authorisation passed."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from keepsight.model.annotation import Sample
from keepsight.service.context import ServiceContext

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "TIFF": "image/tiff",
               "WEBP": "image/webp", "GIF": "image/gif"}
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {t: {} for t in sorted(set(MEDIA_TYPES.values()))},
                         "description": "the image bytes (verified against their sha256)"}}


def image_response(ctx: ServiceContext, sample: Sample, request: Request) -> Response:
    """The stored bytes; content-addressed, so the digest is a perfect ETag."""
    etag = f'"{sample.blob}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media = MEDIA_TYPES.get(sample.format.upper(), "application/octet-stream")
    return Response(ctx.ds.blobs.get(sample.blob), media_type=media, headers=headers)
