"""Region helpers the checks share: bounds for the report to draw, and shapely shapes for overlaps."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import Box, Mask, Polygon, RotatedBox

AREA_KINDS = ("box", "rotated_box", "polygon", "mask")  # kinds that cover an area (polylines and points do not)


def box_of(annotation: Annotation) -> list[float] | None:
    """``[x1, y1, x2, y2]`` in image pixels (what ``evidence["boxes"]`` holds), or None for a tag."""
    bounds = annotation.geometry.bounds()
    if bounds is None:
        return None
    return [round(float(v), 1) for v in bounds]


def boxes_of(annotations: list[Annotation]) -> list[list[float]]:
    return [b for b in (box_of(a) for a in annotations) if b is not None]


def uids_of(annotations: list[Annotation]) -> list[str]:
    return [a.uid or "" for a in annotations]


def mask_shape(mask: Mask) -> BaseGeometry:
    """The mask's foreground as (multi)polygons along pixel edges (empty when the mask is empty).

    OpenCV traces contours through the centres of border pixels; growing outer outlines (and
    shrinking hole outlines) by half a pixel gives the area the pixels cover, so a one-pixel
    speck still has an area of about one.
    """
    pixels = mask.decode().astype(np.uint8)
    contours, hierarchy = cv2.findContours(pixels, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return shapely.Polygon()
    outer: list[BaseGeometry] = []
    holes: list[BaseGeometry] = []
    for contour, info in zip(contours, hierarchy[0], strict=True):
        pts = contour.reshape(-1, 2).astype(np.float64) + 0.5
        is_hole = info[3] >= 0
        if len(pts) >= 3:
            traced = shapely.make_valid(shapely.Polygon(pts))
        elif is_hole:
            continue  # a hole outline of one or two pixels encloses no whole pixel
        else:
            traced = shapely.LineString(pts) if len(pts) == 2 else shapely.Point(pts[0])
        if is_hole:
            holes.append(traced.buffer(-0.5, join_style="mitre"))
        else:
            outer.append(traced.buffer(0.5, cap_style="square", join_style="mitre"))
    shape = shapely.union_all(outer)
    return shape.difference(shapely.union_all(holes)) if holes else shape


def shape_of(annotation: Annotation) -> BaseGeometry | None:
    """An area shape for overlap tests, or None for kinds without an area (polylines, points, tags).

    Invalid polygons (self-intersecting) are repaired with ``make_valid`` so overlaps stay defined;
    ``geometry.invalid`` reports them.
    """
    geometry = annotation.geometry
    if isinstance(geometry, Box):
        return shapely.box(geometry.x1, geometry.y1, geometry.x2, geometry.y2)
    if isinstance(geometry, RotatedBox):
        return shapely.Polygon(geometry.corners())
    if isinstance(geometry, Polygon):
        shape = shapely.Polygon(geometry.array())
        return shape if shape.is_valid else shapely.make_valid(shape)
    if isinstance(geometry, Mask):
        return mask_shape(geometry)
    return None


def box_evidence(hits: list[tuple[Sample, Annotation]], *, paths: list[str] | None = None) -> dict[str, Any]:
    """Boxes to draw: ``{"boxes": [...]}`` when the finding names one image, else
    ``{"boxes_by_path": {path: [...]}}`` so the report draws each image's own boxes. ``paths`` are the
    finding's images when they are not all in ``hits`` (an image without regions)."""
    by_path: dict[str, list[list[float]]] = {}
    for sample, annotation in hits:
        box = box_of(annotation)
        if box is not None:
            by_path.setdefault(sample.path, []).append(box)
    targets = set(paths) if paths is not None else {s.path for s, _ in hits}
    if len(targets) == 1:
        return {"boxes": by_path.get(targets.pop(), [])}
    return {"boxes_by_path": by_path}
