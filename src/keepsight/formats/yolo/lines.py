"""One YOLO label line <-> annotations in absolute pixels.

Line shapes (all coordinates normalised by the image width/height):

* detect   ``cls cx cy w h``
* segment  ``cls x1 y1 x2 y2 x3 y3 ...`` (3 or more vertices)
* obb      ``cls x1 y1 x2 y2 x3 y3 x4 y4`` (corner 0 first, in keepsight order)
* pose     ``cls cx cy w h`` + k keypoints of ``x y`` or ``x y visibility``

8 coordinates are either a 4-vertex polygon or an oriented box: they are read as an
oriented box only when the task is ``obb``; pose lines are only recognised for ``pose``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keepsight.errors import AnnotationError, ParseError
from keepsight.formats._common.text import fmt, number
from keepsight.model.annotation import Annotation
from keepsight.model.convert import cxcywhn_to_xyxy, quad_to_rotated_box, xyxy_to_cxcywhn
from keepsight.model.geometry import Box, Points, Polygon

TASKS = ("detect", "segment", "obb", "pose", "classify")
DECIMALS = 6  # what Ultralytics' own converters write


def class_name(token: str, names: dict[int, str]) -> str:
    try:
        value = float(token)
    except ValueError:
        raise ParseError(f"class id {token!r} is not a number") from None
    if not value.is_integer():
        raise AnnotationError(f"class id {token!r} is not an integer")
    if int(value) not in names:
        ids = f"ids {min(names)}..{max(names)}" if names else "no ids"
        raise AnnotationError(f"class id {int(value)} is out of range: {len(names)} classes are declared ({ids})")
    return names[int(value)]


def parse_line(
    tokens: Sequence[str],
    names: dict[int, str],
    task: str,
    kpt_shape: tuple[int, int] | None,
    width: int,
    height: int,
) -> list[Annotation]:
    """The annotations of one split line; raises ParseError/AnnotationError without a location."""
    label = class_name(tokens[0], names)
    values = [number(t) for t in tokens[1:]]
    if task == "pose":
        return _pose(label, values, kpt_shape, width, height)
    count = len(values)
    if count == 4:
        return [Annotation(label, _box(values, width, height))]
    if count == 8 and task == "obb":
        return [Annotation(label, quad_to_rotated_box(_pixels(values, width, height)))]
    if count >= 6 and count % 2 == 0:
        return [Annotation(label, Polygon(_pixels(values, width, height)))]
    raise AnnotationError(
        f"{count} values after the class id: expected 4 (box) or an even number >= 6 (polygon"
        f"{', oriented box' if task == 'obb' else ''}); pose labels need kpt_shape in the yaml or yolo_task=pose"
    )


def _pose(
    label: str, values: list[float], kpt_shape: tuple[int, int] | None, width: int, height: int
) -> list[Annotation]:
    extra = len(values) - 4
    # Without kpt_shape, x y v triplets win over x y pairs when both fit (Ultralytics' default).
    k, dims = kpt_shape or ((extra // 3, 3) if extra % 3 == 0 else (extra // 2, 2))
    if extra != k * dims or k < 1:
        raise AnnotationError(f"pose line has {len(values)} values after the class id, expected 4 + {k}x{dims}")
    keypoints = values[4:]
    box = Annotation(label, _box(values[:4], width, height))
    if not any(keypoints[2::dims] if dims == 3 else keypoints):
        return [box]  # every keypoint "not labelled": an object with a box only (how pose exports write one)
    xy = [v for i, v in enumerate(keypoints) if i % dims < 2]
    points = Points(_pixels(xy, width, height))
    attributes = {"visibility": [int(v) for v in keypoints[2::dims]]} if dims == 3 else {}
    return [box, Annotation(label, points, attributes)]


def _box(values: list[float], width: int, height: int) -> Box:
    cx, cy, w, h = values
    return cxcywhn_to_xyxy(cx, cy, w, h, width, height)


def _pixels(values: list[float], width: int, height: int) -> tuple[tuple[float, float], ...]:
    return tuple((x * width, y * height) for x, y in zip(values[0::2], values[1::2], strict=True))


def box_values(box: Box, width: int, height: int) -> list[float]:
    return list(xyxy_to_cxcywhn(box, width, height))


def corner_values(points: np.ndarray, width: int, height: int) -> list[float]:
    return (np.asarray(points, dtype=np.float64) / np.array([width, height])).ravel().tolist()


def format_line(class_id: int, values: Sequence[float]) -> str:
    return " ".join([str(class_id), *(fmt(v, DECIMALS) for v in values)])
