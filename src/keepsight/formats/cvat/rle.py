"""CVAT's mask RLE: alternating 0/1 run lengths over a box region, row-major, starting with 0s.

``<mask rle="3, 2, 5" left="10" top="4" width="5" height="2">`` covers columns 10..14 and rows
4..5; the box is the pixel region itself (width = right - left + 1 in CVAT's inclusive terms).
"""

from __future__ import annotations

import numpy as np

from keepsight.errors import AnnotationError
from keepsight.model import Mask
from keepsight.model.convert import array_to_mask


def rle_to_mask(rle: str, left: int, top: int, width: int, height: int, image_w: int, image_h: int) -> Mask:
    """A CVAT box-region RLE to a full-image mask."""
    try:
        counts = [int(v) for v in rle.replace(",", " ").split()]
    except ValueError:
        raise AnnotationError(f"mask rle is not a list of integers: {rle[:40]!r}") from None
    if any(c < 0 for c in counts) or sum(counts) != width * height:
        raise AnnotationError(f"mask rle covers {sum(counts)} pixels but its box is {width}x{height}={width * height}")
    if width <= 0 or height <= 0 or left < 0 or top < 0 or left + width > image_w or top + height > image_h:
        raise AnnotationError(
            f"mask box left={left} top={top} {width}x{height} is not inside the {image_w}x{image_h} image"
        )
    region = np.repeat(np.arange(len(counts)) % 2, counts).astype(bool).reshape(height, width)
    full = np.zeros((image_h, image_w), dtype=bool)
    full[top : top + height, left : left + width] = region
    return array_to_mask(full)


def mask_to_rle(mask: Mask) -> tuple[str, int, int, int, int] | None:
    """``(rle, left, top, width, height)`` over the mask's bounding box; None for an empty mask."""
    array = mask.decode()
    rows, cols = np.flatnonzero(array.any(axis=1)), np.flatnonzero(array.any(axis=0))
    if rows.size == 0:
        return None
    top, left = int(rows[0]), int(cols[0])
    height, width = int(rows[-1]) - top + 1, int(cols[-1]) - left + 1
    flat = array[top : top + height, left : left + width].ravel().astype(np.int8)
    starts = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], starts, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))  # CVAT runs start with zeros
    return ", ".join(str(int(r)) for r in runs), left, top, width, height
