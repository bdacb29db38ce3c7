"""Pure conversions between geometry representations, named ``x_to_y``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from keepsight.errors import AnnotationError
from keepsight.model.geometry import Box, Geometry, Mask, Polygon, RotatedBox


def xywh_to_xyxy(x: float, y: float, w: float, h: float) -> Box:
    return Box(x, y, x + w, y + h)


def xyxy_to_xywh(box: Box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1)


def cxcywhn_to_xyxy(cx: float, cy: float, w: float, h: float, width: int, height: int) -> Box:
    """Normalised centre/size (YOLO) to an absolute box."""
    return Box((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)


def xyxy_to_cxcywhn(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    return (
        (box.x1 + box.x2) / 2 / width,
        (box.y1 + box.y2) / 2 / height,
        (box.x2 - box.x1) / width,
        (box.y2 - box.y1) / height,
    )


def quad_to_rotated_box(quad: Sequence[Sequence[float]] | np.ndarray) -> RotatedBox:
    """Four ordered corners (DOTA / YOLO-OBB order) to a rotated box.

    The angle follows corner 0 -> corner 1 (averaged with corner 3 -> corner 2); the size is
    the extent of all corners along the box axes, so an exact rectangle round-trips exactly
    and a slightly skewed quad gets its tightest box with the same heading.
    """
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    if pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise AnnotationError(f"an oriented box needs 4 finite corners, got {pts.tolist()}")
    top = pts[1] - pts[0]
    bottom = pts[2] - pts[3]
    direction = top + bottom
    if not np.any(direction):
        direction = pts[2] - pts[1]
        direction = np.array([direction[1], -direction[0]]) if np.any(direction) else np.array([1.0, 0.0])
    angle = math.degrees(math.atan2(direction[1], direction[0]))
    rad = math.radians(angle)
    axis_u = np.array([math.cos(rad), math.sin(rad)])
    axis_v = np.array([-math.sin(rad), math.cos(rad)])
    u = pts @ axis_u
    v = pts @ axis_v
    cu, cv = (u.max() + u.min()) / 2, (v.max() + v.min()) / 2
    centre = cu * axis_u + cv * axis_v
    return RotatedBox(float(centre[0]), float(centre[1]), float(u.max() - u.min()), float(v.max() - v.min()), angle)


def rotated_box_to_quad(box: RotatedBox) -> np.ndarray:
    return box.corners()


def rotated_box_to_polygon(box: RotatedBox) -> Polygon:
    return Polygon(_vertex_tuples(box.corners()))


def array_to_mask(array: np.ndarray) -> Mask:
    """A boolean (H, W) array to a compressed RLE mask."""
    from pycocotools import mask as mask_utils

    if array.ndim != 2:
        raise AnnotationError(f"a mask array must be 2-D (H, W), got shape {array.shape}")
    rle = mask_utils.encode(np.asfortranarray(array.astype(np.uint8)))
    return Mask(int(rle["size"][0]), int(rle["size"][1]), rle["counts"].decode("ascii"))


def mask_to_array(mask: Mask) -> np.ndarray:
    return mask.decode()


def uncompressed_rle_to_mask(counts: Sequence[int], height: int, width: int) -> Mask:
    """COCO ``iscrowd`` uncompressed RLE (column-major run lengths) to a compressed mask."""
    from pycocotools import mask as mask_utils

    if sum(int(c) for c in counts) != height * width:
        raise AnnotationError(
            f"uncompressed RLE covers {sum(counts)} pixels, expected {height}x{width}={height * width}"
        )
    rle = mask_utils.frPyObjects({"counts": [int(c) for c in counts], "size": [height, width]}, height, width)
    return Mask(height, width, rle["counts"].decode("ascii"))


def polygon_to_mask(polygon: Polygon, height: int, width: int) -> Mask:
    from pycocotools import mask as mask_utils

    rle = mask_utils.frPyObjects([polygon.to_json()], height, width)
    merged = mask_utils.merge(rle)
    return Mask(height, width, merged["counts"].decode("ascii"))


def mask_to_polygons(mask: Mask, *, min_area: float = 1.0) -> list[Polygon]:
    """Outer contours of a mask as polygons (OpenCV). Holes are not represented."""
    import cv2

    array = mask.decode().astype(np.uint8)
    contours, _ = cv2.findContours(array, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        pts = contour.reshape(-1, 2).astype(np.float64)
        if len(pts) >= 3 and cv2.contourArea(contour) >= min_area:
            polygons.append(Polygon(_vertex_tuples(pts)))
    return polygons


def geometry_to_box(geometry: Geometry) -> Box | None:
    """The axis-aligned bounding box of any region geometry (None for tags)."""
    bounds = geometry.bounds()
    if bounds is None:
        return None
    return Box(*bounds)


def _vertex_tuples(points: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in points)
