"""Masks painted in the browser: a PNG the size of the image in, the pycocotools RLE the model uses out.

The annotation page paints each mask region (brush and eraser) on an offscreen canvas as large
as the image and sends it here as a PNG (``Content-Type: image/png``). A pixel is in the mask
when its alpha is at least 128 (a PNG without alpha: its grey level). The server converts the
pixels with :func:`keepsight.model.convert.array_to_mask` and returns the geometry; the page puts
it, unchanged, in the annotation set it saves with ``PUT .../annotations``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from keepsight.errors import ImageError
from keepsight.model.convert import array_to_mask
from keepsight.model.geometry import Mask
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import TooLarge, UnsupportedMediaType
from keepsight.service.policy import ItemAccess, item_access
from keepsight.service.store import catalog

router = APIRouter(tags=["jobs"])

MAX_MASK_PNG_BYTES = 64 * 2**20  # a PNG of a mostly empty 8000 x 8000 canvas is far smaller
ON = 128  # alpha (or grey level) from which a pixel belongs to the mask: canvas strokes have soft edges

PNG_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"image/png": {"schema": {
    "type": "string", "format": "binary",
    "description": "the mask as an image of the image's size; alpha >= 128 is in the mask"}}}}}


class MaskOut(BaseModel):
    size: list[int] = Field(..., description="[height, width] of the image")
    counts: str = Field(..., description="pycocotools compressed RLE (column-major), as keepsight stores masks")
    area: int = Field(..., description="pixels in the mask")


def png_to_mask(data: bytes, *, width: int, height: int, path: str) -> Mask:
    """The mask a PNG paints: alpha (or grey) >= 128, checked to be exactly the image's size."""
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if pixels is None:
        raise ImageError("the mask is not a readable PNG", path=path, element="mask")
    if pixels.shape[:2] != (height, width):
        raise ImageError(f"the mask is {pixels.shape[1]}x{pixels.shape[0]} but the image is {width}x{height}",
                         path=path, element="mask")
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        coverage = pixels[:, :, 3]
    elif pixels.ndim == 3:
        coverage = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    else:
        coverage = pixels
    limit = ON * 257 if coverage.dtype == np.uint16 else ON  # a 16-bit PNG: 65535 is 255 * 257
    return array_to_mask(coverage >= limit)


async def _read_png(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "image/png":
        raise UnsupportedMediaType(f"send the mask as 'Content-Type: image/png', not {media or 'nothing'!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_MASK_PNG_BYTES:
        raise TooLarge(f"a mask PNG may hold at most {MAX_MASK_PNG_BYTES} bytes, this one declares {declared}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MASK_PNG_BYTES:
            raise TooLarge(f"a mask PNG may hold at most {MAX_MASK_PNG_BYTES} bytes")
    return bytes(body)


@router.post("/jobs/{job_id}/items/{item_id}/masks", response_model=MaskOut, openapi_extra=PNG_BODY,
             responses={415: {"description": "not image/png"}, 422: {"description": "unreadable or of the wrong size"}})
async def encode_mask(request: Request, access: ItemAccess = item_access("items.edit"),
                      ctx: ServiceContext = Depends(get_context)) -> MaskOut:
    """Convert a mask painted in the browser (PNG, the image's size) to the RLE geometry of a ``mask`` annotation."""
    data = await _read_png(request)

    def convert() -> Mask:
        with ctx.ds.reading() as conn:
            sample = catalog.active_sample(conn, access.item.sample_id)
        return png_to_mask(data, width=sample.width, height=sample.height, path=sample.path)

    mask = await run_in_threadpool(convert)
    return MaskOut(size=[mask.height, mask.width], counts=mask.counts, area=mask.area())
