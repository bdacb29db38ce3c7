"""Writing the Ultralytics pose task: one ``cls cx cy w h`` + keypoints line per object.

keepsight holds a pose object as two annotations of one class, a box and its keypoints
(``Points``, with the per-keypoint ``visibility`` list when the source had one), which is how
the reader returns a pose line. Writing pairs them again: a keypoint set goes with the box
of its class just before it (the order the reader and the catalog keep; overlapping people make
any geometric rule ambiguous), else with the unused box of its class that holds most of its
points, else with the extent of the points.
Boxes left without keypoints are written with every keypoint "not labelled" (``0 0 0``),
Ultralytics' own convention, and read back as boxes alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keepsight.formats.base import WriteContext
from keepsight.formats.yolo.lines import box_values
from keepsight.model.annotation import Annotation
from keepsight.model.convert import geometry_to_box
from keepsight.model.geometry import Box, Points

NOT_LABELLED = 0  # Ultralytics visibility: 0 not labelled, 1 labelled but hidden, 2 visible
VISIBLE = 2


@dataclass(frozen=True)
class PoseObject:
    label: str
    box: Box
    keypoints: Points | None
    visibility: tuple[int, ...] | None


def kpt_shape(keypoint_sets: Sequence[Annotation]) -> tuple[int, int]:
    """[keypoints, dims] for the whole export: the most keypoints any object has; the
    visibility column is written when a source had one or when padding must mark points absent."""
    counts = {len(a.geometry.points) for a in keypoint_sets if isinstance(a.geometry, Points)}
    with_visibility = any("visibility" in a.attributes for a in keypoint_sets)
    k = max(counts, default=1)
    return k, 3 if with_visibility or len(counts) > 1 else 2


def pose_objects(anns: Sequence[Annotation], ctx: WriteContext) -> list[PoseObject]:
    """Pair each keypoint set with a box of its class; the rest become boxes without keypoints.

    Objects come out in the order of their boxes, so a re-import keeps the annotation order."""
    boxes: list[tuple[Annotation, Box]] = []
    keypoint_sets: list[tuple[Annotation, int | None]] = []  # with the box just before it, if of its class
    previous: int | None = None
    for ann in anns:
        if isinstance(ann.geometry, Points):
            follows = previous is not None and boxes[previous][0].label == ann.label
            keypoint_sets.append((ann, previous if follows else None))
            previous = None
        elif ann.kind == "tag":
            ctx.loss("tag dropped (YOLO pose has no image tags)")
        elif (box := geometry_to_box(ann.geometry)) is not None:
            if ann.kind != "box":
                ctx.loss(f"{ann.kind} -> box (YOLO pose holds axis-aligned boxes)")
            previous = len(boxes)
            boxes.append((ann, box))
    used = {index for _, index in keypoint_sets if index is not None}
    paired: dict[int, PoseObject] = {}
    unboxed: list[PoseObject] = []
    for ann, index in keypoint_sets:
        assert isinstance(ann.geometry, Points)
        if index is None:
            index = _best_box(ann.label, ann.geometry, boxes, used)
        if index is None:
            ctx.loss("keypoints without a box -> box around the keypoints")
            unboxed.append(PoseObject(ann.label, Box(*ann.geometry.bounds()), ann.geometry, _visibility(ann, ctx)))
            continue
        used.add(index)
        paired[index] = PoseObject(ann.label, boxes[index][1], ann.geometry, _visibility(ann, ctx))
    in_box_order = [paired.get(i, PoseObject(ann.label, box, None, None)) for i, (ann, box) in enumerate(boxes)]
    return in_box_order + unboxed


def pose_values(obj: PoseObject, shape: tuple[int, int], width: int, height: int, ctx: WriteContext) -> list[float]:
    k, dims = shape
    values = box_values(obj.box, width, height)
    given = obj.keypoints.points if obj.keypoints is not None else ()
    if given and len(given) < k:
        ctx.loss(f"keypoint sets padded to {k} keypoints with 'not labelled' points (YOLO pose has one kpt_shape)")
    for i in range(k):
        if i < len(given):
            x, y = given[i]
            visible = obj.visibility[i] if obj.visibility is not None else VISIBLE
            point = [x / width, y / height, float(visible)]
        else:
            point = [0.0, 0.0, float(NOT_LABELLED)]
        values += point[:dims]
    return values


def _best_box(label: str, keypoints: Points, boxes: list[tuple[Annotation, Box]], used: set[int]) -> int | None:
    """The unused box of the class holding most keypoints (the smallest such box on ties)."""
    best: tuple[int, float, int] | None = None
    for index, (ann, box) in enumerate(boxes):
        if index in used or ann.label != label:
            continue
        inside = sum(box.x1 <= x <= box.x2 and box.y1 <= y <= box.y2 for x, y in keypoints.points)
        if inside == 0:
            continue
        area = (box.x2 - box.x1) * (box.y2 - box.y1)
        if best is None or (inside, -area) > (best[0], -best[1]):
            best = (inside, area, index)
    return None if best is None else best[2]


def _visibility(ann: Annotation, ctx: WriteContext) -> tuple[int, ...] | None:
    assert isinstance(ann.geometry, Points)
    raw = ann.attributes.get("visibility")
    if raw is None:
        return None
    if isinstance(raw, list) and len(raw) == len(ann.geometry.points) and all(v in (0, 1, 2) for v in raw):
        return tuple(int(v) for v in raw)
    ctx.loss("visibility attribute unreadable (expected one 0/1/2 per keypoint) -> keypoints written as visible")
    return None
