"""Annotation geometries in absolute pixel coordinates.

Conventions (the only ones used anywhere in keepsight):

* The image origin is the top-left corner of the top-left pixel; x grows to the right,
  y grows downwards; a W x H image spans ``[0, W] x [0, H]``.
* ``Box`` is axis-aligned ``xyxy``.
* ``RotatedBox`` is ``(cx, cy, w, h, angle)``. ``angle`` is in degrees in ``[0, 360)``,
  measured **clockwise on screen** (y points down) from the image +x axis to the box's
  local +x axis (its ``w`` side). The corners, in order, are the rotations of
  ``(-w/2, -h/2), (+w/2, -h/2), (+w/2, +h/2), (-w/2, +h/2)``: corner 0 is the top-left of
  the unrotated box, which is also the first point of DOTA and YOLO-OBB quads. For a class
  whose orientation is ``directed``, the head of the object points along the local +x axis
  (corner 0 -> corner 1); ``axial`` classes treat ``angle`` and ``angle + 180`` as equal.
* ``Polygon``/``Polyline``/``Points`` hold ``(x, y)`` vertices.
* ``Mask`` is a full-image run-length encoding compatible with pycocotools (compressed
  ``counts`` string, ``size = [height, width]``); masks are never cropped to a box.
* ``Tag`` is an image-level label and has no geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from keepsight.errors import AnnotationError

Kind = Literal["box", "rotated_box", "polygon", "polyline", "points", "mask", "tag"]
KINDS: tuple[Kind, ...] = ("box", "rotated_box", "polygon", "polyline", "points", "mask", "tag")
REGION_KINDS: tuple[Kind, ...] = ("box", "rotated_box", "polygon", "polyline", "points", "mask")


def _finite(values: tuple[float, ...], what: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise AnnotationError(f"{what} has a NaN or infinite coordinate: {list(values)}")
    return out


def _vertices(points: object, what: str, minimum: int) -> tuple[tuple[float, float], ...]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size % 2 == 0:
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise AnnotationError(f"{what} expects (x, y) vertices, got an array of shape {arr.shape}")
    if arr.shape[0] < minimum:
        raise AnnotationError(f"{what} needs at least {minimum} vertices, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise AnnotationError(f"{what} has a NaN or infinite coordinate")
    return tuple((float(x), float(y)) for x, y in arr)


@dataclass(frozen=True, slots=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: ClassVar[Kind] = "box"

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = _finite((self.x1, self.y1, self.x2, self.y2), "box")
        if x2 < x1 or y2 < y1:
            raise AnnotationError(f"box has x2 < x1 or y2 < y1: {[x1, y1, x2, y2]}")
        for name, value in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2), strict=True):
            object.__setattr__(self, name, value)

    def to_json(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]

    @classmethod
    def from_json(cls, data: object) -> Box:
        values = _as_numbers(data, 4, "box")
        return cls(*values)

    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True, slots=True)
class RotatedBox:
    cx: float
    cy: float
    w: float
    h: float
    angle: float
    kind: ClassVar[Kind] = "rotated_box"

    def __post_init__(self) -> None:
        cx, cy, w, h, angle = _finite((self.cx, self.cy, self.w, self.h, self.angle), "rotated box")
        if w < 0 or h < 0:
            raise AnnotationError(f"rotated box has a negative size: w={w}, h={h}")
        angle = angle % 360.0
        if angle >= 360.0:  # -1e-17 % 360 == 360.0 in floating point
            angle = 0.0
        for name, value in zip(("cx", "cy", "w", "h", "angle"), (cx, cy, w, h, angle), strict=True):
            object.__setattr__(self, name, value)

    def to_json(self) -> list[float]:
        return [self.cx, self.cy, self.w, self.h, self.angle]

    @classmethod
    def from_json(cls, data: object) -> RotatedBox:
        return cls(*_as_numbers(data, 5, "rotated box"))

    def corners(self) -> np.ndarray:
        """The four corners, shape (4, 2), in the documented order."""
        rad = math.radians(self.angle)
        c, s = math.cos(rad), math.sin(rad)
        local = np.array(
            [[-self.w / 2, -self.h / 2], [self.w / 2, -self.h / 2], [self.w / 2, self.h / 2], [-self.w / 2, self.h / 2]]
        )
        rot = np.array([[c, -s], [s, c]])
        return local @ rot.T + np.array([self.cx, self.cy])

    def bounds(self) -> tuple[float, float, float, float]:
        pts = self.corners()
        return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


@dataclass(frozen=True, slots=True)
class _PointSet:
    points: tuple[tuple[float, float], ...]
    minimum: ClassVar[int] = 1
    kind: ClassVar[Kind] = "points"

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _vertices(self.points, self.kind.replace("_", " "), self.minimum))

    def to_json(self) -> list[float]:
        return [c for xy in self.points for c in xy]

    @classmethod
    def from_json(cls, data: object):  # type: ignore[no-untyped-def]
        return cls(_as_numbers(data, None, cls.kind))  # type: ignore[arg-type]

    def array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=np.float64)

    def bounds(self) -> tuple[float, float, float, float]:
        arr = self.array()
        return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 0].max()), float(arr[:, 1].max()))


@dataclass(frozen=True, slots=True)
class Polygon(_PointSet):
    minimum: ClassVar[int] = 3
    kind: ClassVar[Kind] = "polygon"


@dataclass(frozen=True, slots=True)
class Polyline(_PointSet):
    minimum: ClassVar[int] = 2
    kind: ClassVar[Kind] = "polyline"


@dataclass(frozen=True, slots=True)
class Points(_PointSet):
    minimum: ClassVar[int] = 1
    kind: ClassVar[Kind] = "points"


@dataclass(frozen=True, slots=True)
class Mask:
    """A full-image mask as pycocotools compressed RLE."""

    height: int
    width: int
    counts: str
    kind: ClassVar[Kind] = "mask"

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            raise AnnotationError(f"mask has an empty size: {self.height}x{self.width}")
        if isinstance(self.counts, bytes):
            object.__setattr__(self, "counts", self.counts.decode("ascii"))
        if not isinstance(self.counts, str):
            raise AnnotationError("mask counts must be a compressed RLE string")

    def to_json(self) -> dict[str, object]:
        return {"size": [self.height, self.width], "counts": self.counts}

    @classmethod
    def from_json(cls, data: object) -> Mask:
        if not isinstance(data, dict) or "size" not in data or "counts" not in data:
            raise AnnotationError("mask expects {'size': [h, w], 'counts': ...}")
        h, w = (int(v) for v in data["size"])
        counts = data["counts"]
        if isinstance(counts, list):  # uncompressed RLE, as in COCO iscrowd annotations
            from keepsight.model.convert import uncompressed_rle_to_mask

            return uncompressed_rle_to_mask(counts, h, w)
        return cls(h, w, counts)

    def to_rle(self) -> dict[str, object]:
        """The dict pycocotools' ``mask`` functions take."""
        return {"size": [self.height, self.width], "counts": self.counts.encode("ascii")}

    def decode(self) -> np.ndarray:
        from pycocotools import mask as mask_utils

        return mask_utils.decode(self.to_rle()).astype(bool)

    def area(self) -> int:
        from pycocotools import mask as mask_utils

        return int(mask_utils.area(self.to_rle()))

    def bounds(self) -> tuple[float, float, float, float]:
        from pycocotools import mask as mask_utils

        x, y, w, h = (float(v) for v in mask_utils.toBbox(self.to_rle()))
        return (x, y, x + w, y + h)


@dataclass(frozen=True, slots=True)
class Tag:
    """An image-level label (the class of a classification image)."""

    kind: ClassVar[Kind] = "tag"

    def to_json(self) -> None:
        return None

    @classmethod
    def from_json(cls, data: object) -> Tag:
        return cls()

    def bounds(self) -> None:
        return None


Geometry = Box | RotatedBox | Polygon | Polyline | Points | Mask | Tag

GEOMETRY_TYPES: dict[str, type] = {
    "box": Box,
    "rotated_box": RotatedBox,
    "polygon": Polygon,
    "polyline": Polyline,
    "points": Points,
    "mask": Mask,
    "tag": Tag,
}


def geometry_from_json(kind: str, data: object) -> Geometry:
    """Rebuild a geometry from its catalog JSON; raises AnnotationError on bad data."""
    try:
        cls = GEOMETRY_TYPES[kind]
    except KeyError:
        raise AnnotationError(f"unknown annotation kind {kind!r}; expected one of {list(KINDS)}") from None
    return cls.from_json(data)  # type: ignore[no-any-return, attr-defined]


def _as_numbers(data: object, count: int | None, what: str) -> list[float]:
    if not isinstance(data, (list, tuple)):
        raise AnnotationError(f"{what} expects a list of numbers, got {type(data).__name__}")
    if count is not None and len(data) != count:
        raise AnnotationError(f"{what} expects {count} numbers, got {len(data)}")
    try:
        return [float(v) for v in data]
    except (TypeError, ValueError):
        raise AnnotationError(f"{what} has a value that is not a number: {list(data)}") from None
