"""Checks an item's annotations against its image and the declared label book."""

from __future__ import annotations

from keepsight.errors import AnnotationError
from keepsight.formats.base import ImportItem
from keepsight.model.annotation import Annotation
from keepsight.model.geometry import Mask
from keepsight.model.labelbook import LabelBook


def check_annotation(annotation: Annotation, *, width: int, height: int, tolerance: float,
                     labelbook: LabelBook | None, item: ImportItem, index: int) -> None:
    """Raise AnnotationError (naming the annotation file and element) if the annotation is bad."""
    where = f"{item.element + ', ' if item.element else ''}annotation {index + 1} ({annotation.kind} '{annotation.label}')"
    origin = item.origin or item.path
    if labelbook is not None and annotation.label not in labelbook:
        raise AnnotationError(f"class {annotation.label!r} is not declared in the file's class list "
                              f"({', '.join(labelbook.names()) or 'empty'})", path=origin, element=where)
    geometry = annotation.geometry
    if isinstance(geometry, Mask):
        if (geometry.width, geometry.height) != (width, height):
            raise AnnotationError(f"mask is {geometry.width}x{geometry.height} but the image is {width}x{height}",
                                  path=origin, element=where)
        return
    bounds = geometry.bounds()
    if bounds is None:
        return
    x1, y1, x2, y2 = bounds
    if _mostly_outside(x1, y1, x2, y2, width, height, tolerance):
        raise AnnotationError(
            f"coordinates out of the {width}x{height} image: x {x1:.1f}..{x2:.1f}, y {y1:.1f}..{y2:.1f}",
            path=origin, element=where,
        )


def _mostly_outside(x1: float, y1: float, x2: float, y2: float, width: int, height: int, tolerance: float) -> bool:
    """True when less than half of the region's bounding box lies on the image.

    Objects cut by the image border are often drawn to their full extent (DOTA crops,
    rotated boxes whose corners stick out), so a region that is mostly inside is kept and
    left to the audit's geometry check; one mostly or wholly outside is a wrong coordinate
    system or a typo, and refused. Degenerate (zero-area) regions must lie within tolerance.
    """
    lo_x, lo_y, hi_x, hi_y = -tolerance, -tolerance, width + tolerance, height + tolerance
    area = (x2 - x1) * (y2 - y1)
    if area <= 0:
        return x1 < lo_x or y1 < lo_y or x2 > hi_x or y2 > hi_y
    inside = max(0.0, min(x2, hi_x) - max(x1, lo_x)) * max(0.0, min(y2, hi_y) - max(y1, lo_y))
    return inside < 0.5 * area


def check_size(item: ImportItem, width: int, height: int) -> None:
    if item.expected_size is not None and tuple(item.expected_size) != (width, height):
        ew, eh = item.expected_size
        raise AnnotationError(f"the annotation file says the image is {ew}x{eh}, but {item.path} is {width}x{height}",
                              path=item.origin or item.path, element=item.element)
