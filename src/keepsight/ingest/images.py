"""Checking image bytes before they enter the catalog."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from keepsight.errors import ImageError
from keepsight.formats.base import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    mode: str  # PIL mode: L, RGB, RGBA, I;16, P...
    format: str  # JPEG, PNG, BMP, TIFF, WEBP


def inspect_image(data: bytes, *, name: str, max_pixels: int) -> ImageInfo:
    """Size, mode and format of an image; raises ImageError naming ``name`` if it is bad.

    The pixel data is decoded (JPEG at 1/8 scale through DCT scaling, which still reads the
    whole entropy stream) so truncated and corrupt files are caught here, while the header
    check refuses decompression bombs before any pixel is decoded.
    """
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in IMAGE_EXTENSIONS:
        raise ImageError(f"unknown image extension {suffix or '(none)'!r}; expected one of {sorted(IMAGE_EXTENSIONS)}",
                         path=name)
    if not data:
        raise ImageError("image file is empty (0 bytes)", path=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not a readable image (corrupt, or not an image format keepsight reads)", path=name) from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read image header: {exc}", path=name) from None
    with img:
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageError(f"image has an empty size {width}x{height}", path=name)
        if width * height > max_pixels:
            raise ImageError(
                f"image is {width}x{height} = {width * height:,} pixels, over the cap of {max_pixels:,} "
                "(a decompression bomb?); raise ingest.max_pixels in keepsight.yaml if it is genuine",
                path=name,
            )
        mode, fmt = img.mode, img.format or suffix.lstrip(".").upper()
        try:
            if fmt == "JPEG":
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageError(f"truncated or corrupt image data: {exc}", path=name) from None
    return ImageInfo(width=width, height=height, mode=mode, format=fmt)
