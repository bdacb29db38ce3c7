"""Writing a Label Studio JSON export with its images and labeling config beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keepsight.formats._common.jsonio import write_json
from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.labelstudio.brush import encode_brush
from keepsight.formats.labelstudio.config import CONFIG_NAME, render_config
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import Box, Mask, Points, Polygon, RotatedBox

EXPORT_NAME = "tasks.json"
# kind -> (control name, control tag, result type); a result's from_name is its control's name.
CONTROLS: dict[str, tuple[str, str, str]] = {
    "box": ("box", "RectangleLabels", "rectanglelabels"),
    "rotated_box": ("box", "RectangleLabels", "rectanglelabels"),
    "polygon": ("polygon", "PolygonLabels", "polygonlabels"),
    "mask": ("mask", "BrushLabels", "brushlabels"),
    "points": ("points", "KeyPointLabels", "keypointlabels"),
    "tag": ("class", "Choices", "choices"),
}
_POLYLINE = "polyline -> dropped (Label Studio image projects have no open lines)"
_ATTRIBUTES = "attributes other than text -> dropped (Label Studio keeps per-region text only)"


def write_labelstudio(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    tasks = []
    used: dict[str, list[str]] = {name: [] for name, _, _ in CONTROLS.values()}  # control -> classes
    has_text = False
    for sample, anns in view.samples():
        image = f"images/{sample.path}"
        view.copy_image(sample, dest / image)
        data: dict[str, Any] = {"image": image}
        if sample.split != "unassigned":
            data["split"] = sample.split
        if sample.verdict is not None:
            data["verdict"] = sample.verdict
        results = _results(sample, anns, ctx)
        for ann in anns:
            if ann.kind in CONTROLS and ann.label not in used[CONTROLS[ann.kind][0]]:
                used[CONTROLS[ann.kind][0]].append(ann.label)
        has_text = has_text or any(r["type"] == "textarea" for r in results)
        tasks.append(
            {
                "id": sample.id,
                "data": data,
                "annotations": [{"id": sample.id, "result": results, "was_cancelled": False, "ground_truth": False}],
            }
        )
    write_json(dest / EXPORT_NAME, tasks)
    # Classes without annotations of a kind still need declaring: they go where their kinds allow.
    for name, spec in view.labelbook.classes.items():
        kinds = spec.kinds or [k for k in CONTROLS if k != "rotated_box"]
        for kind in kinds:
            if kind in CONTROLS and name not in used[CONTROLS[kind][0]]:
                used[CONTROLS[kind][0]].append(name)
    tags = {name: tag for name, tag, _ in CONTROLS.values()}
    controls = {name: (tags[name], classes) for name, classes in used.items()}
    (dest / CONFIG_NAME).write_text(render_config(controls, view.labelbook, text=has_text), encoding="utf-8")


def _results(sample: Sample, annotations: list[Annotation], ctx: WriteContext) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    tags: list[str] = []
    for number, ann in enumerate(annotations):
        region_id = f"r{number}"
        if ann.kind == "polyline":
            ctx.loss(_POLYLINE)
            continue
        if any(k != "text" or ann.kind == "tag" for k in ann.attributes):
            ctx.loss(_ATTRIBUTES)
        if ann.kind == "tag":
            tags.append(ann.label)
            continue
        results += _region_results(region_id, ann, sample)
        if isinstance(ann.attributes.get("text"), str):
            results.append(
                {
                    "id": region_id,
                    "type": "textarea",
                    "from_name": "text",
                    "to_name": "image",
                    "value": {"text": [ann.attributes["text"]]},
                }
            )
    if tags:
        results.append(
            {
                "id": "tags",
                "type": "choices",
                "from_name": "class",
                "to_name": "image",
                "value": {"choices": list(dict.fromkeys(tags))},
            }
        )
    return results


def _region_results(region_id: str, ann: Annotation, sample: Sample) -> list[dict[str, Any]]:
    """One result per region (one per point for Points, later points pointing at the first)."""
    name, _, result_type = CONTROLS[ann.kind]
    geometry = ann.geometry
    width, height = sample.width, sample.height
    values: list[dict[str, Any]]
    if isinstance(geometry, Box):
        values = [
            _rectangle(
                geometry.x1, geometry.y1, geometry.x2 - geometry.x1, geometry.y2 - geometry.y1, 0.0, width, height
            )
        ]
    elif isinstance(geometry, RotatedBox):
        corner = geometry.corners()[0]  # Label Studio's (x, y): the top-left corner before rotation
        values = [_rectangle(float(corner[0]), float(corner[1]), geometry.w, geometry.h, geometry.angle, width, height)]
    elif isinstance(geometry, Polygon):
        values = [{"points": [[x / width * 100, y / height * 100] for x, y in geometry.points], "closed": True}]
    elif isinstance(geometry, Mask):
        width, height = geometry.width, geometry.height
        values = [{"format": "rle", "rle": encode_brush(geometry.decode())}]
    elif isinstance(geometry, Points):
        values = [{"x": x / width * 100, "y": y / height * 100} for x, y in geometry.points]
    else:
        raise TypeError(f"no Label Studio region for {ann.kind}")
    results = []
    for index, value in enumerate(values):
        result = {
            "id": region_id if index == 0 else f"{region_id}.{index}",
            "type": result_type,
            "from_name": name,
            "to_name": "image",
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {**value, result_type: [ann.label]},
        }
        if index:
            result["parentID"] = region_id
        results.append(result)
    return results


def _rectangle(x: float, y: float, w: float, h: float, angle: float, width: int, height: int) -> dict[str, float]:
    return {
        "x": x / width * 100,
        "y": y / height * 100,
        "width": w / width * 100,
        "height": h / height * 100,
        "rotation": angle,
    }
