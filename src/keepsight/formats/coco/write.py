"""Writing the standard COCO layout: ``annotations/instances_<split>.json`` + ``images/<split>/``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

from keepsight.formats._common.jsonio import write_json
from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.coco.read import CROWD_ATTRIBUTE, GROUP_ATTRIBUTE
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.convert import rotated_box_to_polygon, xyxy_to_xywh
from keepsight.model.geometry import Box, Mask, Polygon

_DROPPED = {
    "tag": "tag -> dropped (COCO instances hold no image-level labels)",
    "polyline": "polyline -> dropped (COCO has no open lines)",
    "points": "points -> dropped (COCO keypoints need a skeleton keepsight does not keep)",
}
_ROTATED = "rotated_box -> polygon (COCO has no rotated boxes)"
_VERDICT = "OK/NG verdict -> dropped (COCO has no image verdict)"
_UNASSIGNED = "default"  # Datumaro's name for a dataset without splits


def write_coco(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    categories = {name: i + 1 for i, name in enumerate(view.labelbook.names())}
    docs: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {"images": [], "annotations": []})
    used: dict[str, set[str]] = defaultdict(set)
    for sample, anns in view.samples():
        split = sample.split if sample.split != "unassigned" else _UNASSIGNED
        file_name = _file_name(sample, split, used[split])
        view.copy_image(sample, dest / "images" / split / file_name)
        doc = docs[split]
        doc["images"].append({"id": sample.id, "file_name": file_name, "width": sample.width, "height": sample.height})
        if sample.verdict is not None:
            ctx.loss(_VERDICT)
        for entry in _entries(anns, ctx):
            label, fields = entry
            fields.update(
                id=len(doc["annotations"]) + 1,
                image_id=sample.id,
                category_id=categories.setdefault(label, len(categories) + 1),
            )
            doc["annotations"].append(fields)
    category_list = [{"id": i, "name": name, "supercategory": ""} for name, i in categories.items()]
    for split, doc in docs.items():
        write_json(dest / "annotations" / f"instances_{split}.json", {"categories": category_list, **doc})


def _file_name(sample: Sample, split: str, used: set[str]) -> str:
    """The sample path without a leading ``images/<split>/`` or ``<split>/`` (so re-exports stay stable)."""
    parts = PurePosixPath(sample.path).parts
    for prefix in (("images", split), (split,)):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix):
            parts = parts[len(prefix) :]
            break
    name = PurePosixPath(*parts)
    if name.as_posix() in used:
        name = name.with_name(f"{sample.id}_{name.name}")
    used.add(name.as_posix())
    return name.as_posix()


def _entries(annotations: list[Annotation], ctx: WriteContext) -> list[tuple[str, dict[str, Any]]]:
    """(label, COCO annotation fields) per annotation; polygons sharing a coco_group become one."""
    out: list[tuple[str, dict[str, Any]]] = []
    groups: dict[tuple[str, Any], dict[str, Any]] = {}
    for ann in annotations:
        geometry = ann.geometry
        if ann.kind in _DROPPED:
            ctx.loss(_DROPPED[ann.kind])
            continue
        if ann.kind == "rotated_box":
            ctx.loss(_ROTATED)
            geometry = rotated_box_to_polygon(geometry)  # type: ignore[arg-type]
        group = ann.attributes.get(GROUP_ATTRIBUTE)
        key = (ann.label, group)
        if isinstance(geometry, Polygon) and group is not None and key in groups:
            _add_part(groups[key], geometry)
            continue
        fields = _geometry_fields(geometry)  # type: ignore[arg-type]
        fields["iscrowd"] = int(bool(ann.attributes.get(CROWD_ATTRIBUTE)))
        extra = {k: v for k, v in ann.attributes.items() if k not in (CROWD_ATTRIBUTE, GROUP_ATTRIBUTE)}
        if extra:
            fields["attributes"] = extra
        if isinstance(geometry, Polygon) and group is not None:
            groups[key] = fields
        out.append((ann.label, fields))
    return out


def _geometry_fields(geometry: Box | Polygon | Mask) -> dict[str, Any]:
    if isinstance(geometry, Box):
        x, y, w, h = xyxy_to_xywh(geometry)
        return {"segmentation": [], "area": w * h, "bbox": [x, y, w, h]}
    if isinstance(geometry, Polygon):
        fields: dict[str, Any] = {"segmentation": [], "area": 0.0}
        _add_part(fields, geometry)
        return fields
    x1, y1, x2, y2 = geometry.bounds()
    return {"segmentation": geometry.to_json(), "area": float(geometry.area()), "bbox": [x1, y1, x2 - x1, y2 - y1]}


def _add_part(fields: dict[str, Any], polygon: Polygon) -> None:
    """Append a polygon to a segmentation; area and bbox cover all parts."""
    fields["segmentation"].append(polygon.to_json())
    fields["area"] += _polygon_area(polygon)
    x1, y1, x2, y2 = polygon.bounds()
    if "bbox" in fields:
        bx, by, bw, bh = fields["bbox"]
        x1, y1, x2, y2 = min(x1, bx), min(y1, by), max(x2, bx + bw), max(y2, by + bh)
    fields["bbox"] = [x1, y1, x2 - x1, y2 - y1]


def _polygon_area(polygon: Polygon) -> float:
    """Shoelace area, as COCO stores for polygon annotations."""
    pts = polygon.points
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True))
    return abs(twice) / 2
