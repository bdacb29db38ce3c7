"""Reading Label Studio JSON exports (a list of tasks) into import items."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats._common.jsonio import load_json
from keepsight.formats.base import ImportItem, ReadContext, image_size
from keepsight.formats.labelstudio.brush import decode_brush
from keepsight.formats.labelstudio.config import LabelConfig
from keepsight.formats.labelstudio.images import ImageIndex
from keepsight.model.annotation import Annotation, normalize_split, normalize_verdict
from keepsight.model.convert import array_to_mask
from keepsight.model.geometry import Box, Geometry, Points, Polygon, RotatedBox, Tag

# Result types that draw a region, and the value keys that carry its labels.
REGION_TYPES = {
    "rectanglelabels",
    "rectangle",
    "polygonlabels",
    "polygon",
    "brushlabels",
    "brush",
    "keypointlabels",
    "keypoint",
}
UNSUPPORTED_REGIONS = {"ellipselabels", "ellipse", "polylinelabels", "polyline"}
LABEL_KEYS = ("rectanglelabels", "polygonlabels", "brushlabels", "keypointlabels", "labels")


@dataclass
class _Draft:
    """One annotation being built; keypoints of one Points gather before it is made."""

    label: str
    geometry: Geometry | None
    attributes: dict[str, Any]
    points: list[tuple[float, float]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def iter_items(root: Path, files: list[Path], config: LabelConfig, ctx: ReadContext) -> Iterator[ImportItem]:
    index = ImageIndex(root)
    for file in files:
        origin = file.relative_to(root).as_posix()
        try:
            tasks = load_json(file)
            if not isinstance(tasks, list):
                raise ParseError("not a Label Studio export: expected a list of tasks", path=file)
        except KeepsightError as err:
            ctx.problem(err)
            continue
        for number, task in enumerate(tasks):
            element = f"task id {task.get('id')}" if isinstance(task, dict) and "id" in task else f"task #{number}"
            try:
                item = _task_item(task, index, config, origin, file, element, ctx)
            except KeepsightError as err:
                ctx.problem(type(err)(err.reason, path=file, element=err.element or element))
                continue
            yield item


def _task_item(
    task: Any, index: ImageIndex, config: LabelConfig, origin: str, file: Path, element: str, ctx: ReadContext
) -> ImportItem:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise AnnotationError("a task must be an object with a 'data' object")
    ref = task["data"].get(config.image_key)
    if not isinstance(ref, str) or not ref.strip():
        raise AnnotationError(f"task has no image in data.{config.image_key}")
    rel, source = index.resolve(ref, origin=str(file), element=element)
    item = ImportItem(path=rel, source=source, origin=origin, element=element)
    _split_and_verdict(task["data"], item, file, element, ctx)
    results = _chosen_results(task, item)
    for draft in _drafts(results, item, file, element, ctx):
        if config.declared and draft.label not in config.labelbook:
            ctx.problem(
                AnnotationError(
                    f"class {draft.label!r} is not declared in the label config",
                    path=file,
                    element=f"{element}, result {'/'.join(sorted(draft.ids))}",
                )
            )
            continue
        geometry = draft.geometry if draft.geometry is not None else Points(tuple(draft.points))
        item.annotations.append(Annotation(draft.label, geometry, draft.attributes))
    return item


def _split_and_verdict(data: dict[str, Any], item: ImportItem, file: Path, element: str, ctx: ReadContext) -> None:
    """Our exports keep the split and OK/NG verdict as task data fields."""
    try:
        if isinstance(data.get("split"), str):
            item.split = normalize_split(data["split"])
        if isinstance(data.get("verdict"), str):
            item.verdict = normalize_verdict(data["verdict"])
    except AnnotationError as err:
        ctx.problem(AnnotationError(err.reason, path=file, element=element))


def _chosen_results(task: dict[str, Any], item: ImportItem) -> list[Any]:
    """The results of one annotation: the ground-truth one, else the first that was not cancelled."""
    annotations = task.get("annotations", task.get("completions")) or []
    if not isinstance(annotations, list):
        raise AnnotationError("'annotations' must be a list")
    usable = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not usable:
        return []
    chosen = next((a for a in usable if a.get("ground_truth")), usable[0])
    if len(usable) > 1:  # several annotators: say which one keepsight took
        item.metadata["labelstudio_annotation"] = chosen.get("id")
        item.metadata["labelstudio_ignored_annotations"] = [a.get("id") for a in usable if a is not chosen]
    results = chosen.get("result", [])
    if not isinstance(results, list):
        raise AnnotationError("an annotation's 'result' must be a list")
    return results


def _drafts(results: list[Any], item: ImportItem, file: Path, element: str, ctx: ReadContext) -> list[_Draft]:
    """Results grouped by region id (a region's label, text and choices share its id)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for number, result in enumerate(results):
        if not isinstance(result, dict):
            ctx.problem(
                AnnotationError("a result must be an object", path=file, element=f"{element}, result #{number}")
            )
            continue
        groups.setdefault(str(result.get("id", f"#{number}")), []).append(result)
    drafts: list[_Draft] = []
    keypoints: dict[str, _Draft] = {}  # region id -> the Points draft it belongs to
    for region_id, group in groups.items():
        try:
            new = _region(group, item)
        except AnnotationError as err:
            ctx.problem(AnnotationError(err.reason, path=file, element=f"{element}, result {region_id}"))
            continue
        for draft in new:
            draft.ids.add(region_id)
            parent = keypoints.get(str(group[0].get("parentID")))
            if draft.geometry is None and parent is not None and parent.label == draft.label:
                parent.points += draft.points  # a keypoint of an earlier Points (how our exports write them)
                keypoints[region_id] = parent
                continue
            if draft.geometry is None:
                keypoints[region_id] = draft
            drafts.append(draft)
    return drafts


def _region(group: list[dict[str, Any]], item: ImportItem) -> list[_Draft]:
    types = [str(r.get("type", "")).lower() for r in group]
    unsupported = sorted(set(types) & UNSUPPORTED_REGIONS)
    if unsupported:
        raise AnnotationError(
            f"{unsupported[0]} regions are not supported (keepsight reads rectangles, polygons, "
            "brushes, keypoints and choices)"
        )
    regions = [r for r, t in zip(group, types, strict=True) if t in REGION_TYPES]
    if not regions:  # image-level results: choices are tags, the rest (ratings, text...) is not kept
        return [
            _Draft(c, Tag(), {})
            for r, t in zip(group, types, strict=True)
            if t == "choices"
            for c in _strings(r, "choices")
        ]
    region = regions[0]
    value = region.get("value")
    if not isinstance(value, dict):
        raise AnnotationError("a region result needs a 'value' object")
    labels = list(dict.fromkeys(label for r in group for key in LABEL_KEYS for label in _strings(r, key)))
    if not labels:
        raise AnnotationError("region has no label")
    attributes = _attributes(group, region)
    kind = str(region["type"]).lower()
    if kind.startswith("keypoint"):
        width, height = _size(region, item)
        point = (_number(value, "x") * width / 100, _number(value, "y") * height / 100)
        return [_Draft(label, None, dict(attributes), points=[point]) for label in labels]
    geometry = _geometry(kind, value, _size(region, item))
    return [_Draft(label, geometry, dict(attributes)) for label in labels]


def _geometry(kind: str, value: dict[str, Any], size: tuple[int, int]) -> Geometry:
    width, height = size
    if kind.startswith("rectangle"):
        x, y = _number(value, "x") * width / 100, _number(value, "y") * height / 100
        w, h = _number(value, "width") * width / 100, _number(value, "height") * height / 100
        angle = _number(value, "rotation") if "rotation" in value else 0.0
        if angle % 360 == 0:
            return Box(x, y, x + w, y + h)
        # Label Studio rotates clockwise about the top-left corner (x, y): the centre is that
        # corner plus the rotated half-diagonal; the corner order then matches keepsight's.
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        return RotatedBox(x + c * w / 2 - s * h / 2, y + s * w / 2 + c * h / 2, w, h, angle)
    if kind.startswith("polygon"):
        points = value.get("points")
        if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
            raise AnnotationError("polygon 'points' must be a list of [x, y] percentages")
        return Polygon(tuple((_number_of(x) * width / 100, _number_of(y) * height / 100) for x, y in points))
    if value.get("format") != "rle" or not isinstance(value.get("rle"), list):
        raise AnnotationError(f"brush format {value.get('format')!r} is not supported; expected 'rle'")
    return array_to_mask(decode_brush(value["rle"], height, width))


def _attributes(group: list[dict[str, Any]], region: dict[str, Any]) -> dict[str, Any]:
    """Per-region text (textarea, or ``value.text``) -> ``text``; other per-region results by their name."""
    attributes: dict[str, Any] = {}
    for result in group:
        kind = str(result.get("type", "")).lower()
        raw = result.get("value")
        value: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if kind == "textarea" or (result is region and "text" in value):
            text = value.get("text")
            attributes["text"] = "\n".join(str(t) for t in text) if isinstance(text, list) else text
        elif kind not in REGION_TYPES and kind not in LABEL_KEYS and kind in value and result.get("from_name"):
            found = value[kind]
            attributes[str(result["from_name"])] = found[0] if isinstance(found, list) and len(found) == 1 else found
    return attributes


def _size(result: dict[str, Any], item: ImportItem) -> tuple[int, int]:
    """The image size the percentages refer to: stated by the result, else read from the image."""
    if result.get("image_rotation", 0) not in (0, None):
        raise AnnotationError(f"image_rotation {result['image_rotation']} is not supported")
    width, height = result.get("original_width"), result.get("original_height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        item.expected_size = item.expected_size or (width, height)
        return width, height
    if isinstance(item.source, Path) and item.source.is_file():
        return image_size(item.source)
    raise AnnotationError("the result has no original_width/original_height and the image is missing")


def _strings(result: dict[str, Any], key: str) -> list[str]:
    value = result.get("value")
    found = value.get(key) if isinstance(value, dict) else None
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(s, str) and s for s in found):
        raise AnnotationError(f"'{key}' must be a list of class names")
    return found


def _number(value: dict[str, Any], key: str) -> float:
    if key not in value:
        raise AnnotationError(f"the value has no {key!r}")
    return _number_of(value[key])


def _number_of(raw: Any) -> float:
    if not isinstance(raw, (int, float)) or isinstance(raw, bool) or not math.isfinite(raw):
        raise AnnotationError(f"coordinate {raw!r} is not a finite number")
    return float(raw)
