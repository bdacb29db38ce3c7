"""LabelMe shapes <-> annotations, both ways."""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from keepsight.errors import AnnotationError
from keepsight.formats.base import WriteContext
from keepsight.model import Annotation, Box, Mask, Points, Polygon, Polyline, RotatedBox
from keepsight.model.convert import array_to_mask, rotated_box_to_polygon
from keepsight.model.geometry import Geometry

CIRCLE_VERTICES = 64
CIRCLE_KEYS = ("circle_cx", "circle_cy", "circle_radius")  # plus labelme_shape="circle"


def circle_polygon(cx: float, cy: float, radius: float) -> Polygon:
    angles = np.linspace(0.0, 2 * math.pi, CIRCLE_VERTICES, endpoint=False)
    vertices: Any = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
    return Polygon(vertices)


# ---- reading -------------------------------------------------------------------------------


def shape_to_annotation(shape: Any, size: tuple[int, int] | None) -> Annotation:
    """One entry of ``shapes`` (``size`` = (width, height) from the JSON, needed by masks)."""
    if not isinstance(shape, dict):
        raise AnnotationError("a shape must be a JSON object")
    label = shape.get("label")
    if not isinstance(label, str) or not label.strip():
        raise AnnotationError(f"shape has no label: {label!r}")
    kind = shape.get("shape_type") or "polygon"  # LabelMe 3 wrote polygons without shape_type
    points = shape.get("points") or []
    if not isinstance(points, list):
        raise AnnotationError("points must be a list of [x, y]")
    attributes = _attributes(shape)
    geometry: Geometry
    if kind == "circle":
        geometry, circle = _circle(points)
        attributes.update(circle)
    else:
        geometry = _geometry(kind, points, shape, size)
    return Annotation(label, geometry, attributes)


def _geometry(kind: str, points: Any, shape: dict[str, Any], size: tuple[int, int] | None) -> Geometry:
    """``points`` as LabelMe wrote them; the geometry classes validate and convert any nesting."""
    if kind == "rectangle":
        return Box(*Points(points).bounds())  # two opposite corners, in any order
    if kind == "polygon":
        return Polygon(points)
    if kind in ("line", "linestrip"):
        return Polyline(points)
    if kind in ("point", "points"):
        return Points(points)
    if kind == "mask":
        return _mask(shape, points, size)
    raise AnnotationError(f"unknown shape_type {kind!r}")


def _attributes(shape: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    flags = shape.get("flags") or {}
    if not isinstance(flags, dict):
        raise AnnotationError("shape flags must be an object of name: true/false")
    attributes.update({str(k): bool(v) for k, v in flags.items()})
    if shape.get("group_id") is not None:
        attributes["group_id"] = shape["group_id"]
    if shape.get("description"):
        attributes["description"] = shape["description"]
    return attributes


def _circle(points: Any) -> tuple[Polygon, dict[str, Any]]:
    if len(points) != 2:
        raise AnnotationError(f"a circle needs [centre, point on the circle], got {len(points)} points")
    centre, rim = Points(points).points
    radius = math.dist(centre, rim)
    attributes = {"labelme_shape": "circle", "circle_cx": centre[0], "circle_cy": centre[1], "circle_radius": radius}
    return circle_polygon(centre[0], centre[1], radius), attributes


def _mask(shape: dict[str, Any], points: Any, size: tuple[int, int] | None) -> Mask:
    """``mask`` is a base64 PNG of the region whose top-left corner is ``points[0]``."""
    if size is None:
        raise AnnotationError("a mask shape needs imageWidth and imageHeight in the JSON")
    if len(points) != 2:
        raise AnnotationError(f"a mask shape needs 2 points (its box), got {len(points)}")
    try:
        with Image.open(io.BytesIO(base64.b64decode(shape.get("mask") or "", validate=True))) as png:
            region = np.asarray(png.convert("L")) > 0
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        raise AnnotationError("mask is not a base64-encoded PNG") from None
    left, top = (int(round(v)) for v in Points(points).points[0])
    width, height = size
    if left < 0 or top < 0 or left + region.shape[1] > width or top + region.shape[0] > height:
        raise AnnotationError(
            f"mask region at ({left}, {top}) of {region.shape[1]}x{region.shape[0]} is not "
            f"inside the {width}x{height} image"
        )
    full = np.zeros((height, width), dtype=bool)
    full[top : top + region.shape[0], left : left + region.shape[1]] = region
    return array_to_mask(full)


# ---- writing -------------------------------------------------------------------------------


def annotation_to_shape(annotation: Annotation, ctx: WriteContext) -> dict[str, Any]:
    """A region annotation as a LabelMe shape (tags are image flags, handled by the writer)."""
    attributes = dict(annotation.attributes)
    g = annotation.geometry
    mask_data = None
    if isinstance(g, Box):
        kind, points = "rectangle", [[g.x1, g.y1], [g.x2, g.y2]]
    elif isinstance(g, RotatedBox):
        ctx.loss("rotated_box -> polygon (LabelMe has no rotated boxes)")
        kind, points = "polygon", rotated_box_to_polygon(g).array().tolist()
    elif isinstance(g, Polygon) and _circle_of(g, attributes) is not None:
        cx, cy, radius = _circle_of(g, attributes)  # type: ignore[misc]
        kind, points = "circle", [[cx, cy], [cx + radius, cy]]
        for key in ("labelme_shape", *CIRCLE_KEYS):
            attributes.pop(key)
    elif isinstance(g, Polygon):
        kind, points = "polygon", g.array().tolist()
    elif isinstance(g, Polyline):
        kind, points = "linestrip", g.array().tolist()
    elif isinstance(g, Points):
        kind, points = ("point" if len(g.points) == 1 else "points"), g.array().tolist()
    elif isinstance(g, Mask):
        kind, points, mask_data = "mask", *_mask_shape(g)
    else:
        raise TypeError(f"{annotation.kind} is not a region")
    shape: dict[str, Any] = {
        "label": annotation.label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": kind,
        "flags": {},
        "mask": mask_data,
    }
    _put_attributes(shape, attributes, ctx)
    return shape


def _circle_of(polygon: Polygon, attributes: dict[str, Any]) -> tuple[float, float, float] | None:
    """The circle recorded by the reader, if the polygon is still exactly that circle."""
    values = [attributes.get(key) for key in CIRCLE_KEYS]
    if attributes.get("labelme_shape") != "circle" or not all(isinstance(v, (int, float)) for v in values):
        return None
    cx, cy, radius = (float(v) for v in values)  # type: ignore[arg-type]
    expected = circle_polygon(cx, cy, radius).array()
    if len(polygon.points) != len(expected) or not np.allclose(polygon.array(), expected, atol=1e-6):
        return None
    return cx, cy, radius


def _mask_shape(mask: Mask) -> tuple[list[list[float]], str]:
    array = mask.decode()
    rows, cols = np.flatnonzero(array.any(axis=1)), np.flatnonzero(array.any(axis=0))
    if rows.size == 0:  # keep the shape: an empty 1x1 region at the origin
        rows, cols = np.array([0]), np.array([0])
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    buffer = io.BytesIO()
    Image.fromarray(array[top : bottom + 1, left : right + 1].astype(np.uint8)).save(buffer, format="PNG")
    # LabelMe's mask box is inclusive: [[left, top], [right, bottom]] for a (bottom-top+1)-row PNG.
    return [[float(left), float(top)], [float(right), float(bottom)]], base64.b64encode(buffer.getvalue()).decode()


def _put_attributes(shape: dict[str, Any], attributes: dict[str, Any], ctx: WriteContext) -> None:
    """Booleans -> shape flags, group_id, description; LabelMe has nowhere for anything else."""
    for key, value in attributes.items():
        if isinstance(value, bool):
            shape["flags"][key] = value
        elif key == "group_id" and isinstance(value, int):
            shape["group_id"] = value
        elif key == "description" and isinstance(value, str):
            shape["description"] = value
        else:
            ctx.loss("non-boolean attribute -> dropped (LabelMe shapes hold flags, group_id and description)")
