"""Writing a Pascal VOC tree: Annotations/, JPEGImages/, ImageSets/Main/, labelmap.txt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from PIL import Image

from keepsight.formats._common.xmlio import fmt_num, format_scalar, reads_back
from keepsight.formats.base import ExportView, WriteContext
from keepsight.model import Annotation, Box, LabelBook, Sample
from keepsight.model.convert import geometry_to_box

from .read import FLAGS, UNSPECIFIED_POSE

SPLIT_LISTS = ("train", "val", "test")


def write_voc(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    lists: dict[str, list[str]] = {split: [] for split in SPLIT_LISTS}
    taken: set[str] = set()
    used_labels: set[str] = set()
    (dest / "Annotations").mkdir(parents=True, exist_ok=True)
    for sample, sample_annotations in view.samples():
        item_id = _unique_id(sample, taken)
        image_name = item_id + Path(sample.path).suffix
        view.copy_image(sample, dest / "JPEGImages" / image_name)
        root = _annotation_element(sample, image_name, sample_annotations, ctx)
        used_labels.update(a.label for a in sample_annotations if a.kind != "tag")
        tree = ET.ElementTree(root)
        ET.indent(tree)
        tree.write(dest / "Annotations" / f"{item_id}.xml", encoding="utf-8")
        if sample.split in lists:
            lists[sample.split].append(item_id)
    sets = dest / "ImageSets" / "Main"
    sets.mkdir(parents=True, exist_ok=True)
    for split, ids in lists.items():
        (sets / f"{split}.txt").write_text("".join(f"{item_id}\n" for item_id in ids), encoding="utf-8")
    _write_labelmap(dest / "labelmap.txt", view.labelbook, used_labels)


def _unique_id(sample: Sample, taken: set[str]) -> str:
    """The image stem, prefixed with the sample id when two samples share it (VOC ids are flat)."""
    item_id = Path(sample.path).stem
    if item_id.lower() in taken:
        item_id = f"{sample.id}_{item_id}"
    taken.add(item_id.lower())
    return item_id


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _annotation_element(
    sample: Sample, image_name: str, annotations: list[Annotation], ctx: WriteContext
) -> ET.Element:
    root = ET.Element("annotation")
    _text(root, "folder", "JPEGImages")
    _text(root, "filename", image_name)
    _text(_sub(root, "source"), "database", "keepsight")
    size = _sub(root, "size")
    _text(size, "width", str(sample.width))
    _text(size, "height", str(sample.height))
    _text(size, "depth", str(_depth(sample.mode)))
    _text(root, "segmented", "0")
    for annotation in annotations:
        box = _as_box(annotation, ctx)
        if box is not None:
            root.append(_object_element(annotation, box, ctx))
    return root


def _sub(parent: ET.Element, tag: str) -> ET.Element:
    return ET.SubElement(parent, tag)


def _depth(mode: str) -> int:
    try:
        return Image.getmodebands(mode)
    except (KeyError, ValueError):
        return 3


def _as_box(annotation: Annotation, ctx: WriteContext) -> Box | None:
    if annotation.kind == "box":
        return annotation.geometry  # type: ignore[return-value]
    if annotation.kind == "tag":
        ctx.loss("tag -> dropped (VOC has no image-level labels)")
        return None
    ctx.loss(f"{annotation.kind} -> box (VOC holds only axis-aligned boxes)")
    return geometry_to_box(annotation.geometry)


def _object_element(annotation: Annotation, box: Box, ctx: WriteContext) -> ET.Element:
    """Standard VOC fields first (pose, truncated, difficult); other attributes in datumaro's block."""
    attributes = dict(annotation.attributes)
    obj = ET.Element("object")
    _text(obj, "name", annotation.label)
    pose = attributes.get("pose")
    if isinstance(pose, str) and pose:
        del attributes["pose"]
    else:
        pose = UNSPECIFIED_POSE
    _text(obj, "pose", pose)
    for flag in FLAGS:
        value = attributes.get(flag, False)
        if isinstance(value, bool):
            attributes.pop(flag, None)
            if value or flag != "occluded":  # occluded is not a standard VOC field: only write it when set
                _text(obj, flag, "1" if value else "0")
    bndbox = _sub(obj, "bndbox")
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box.bounds(), strict=True):
        _text(bndbox, key, fmt_num(value))
    if attributes:
        block = _sub(obj, "attributes")
        for key, value in attributes.items():
            attribute = _sub(block, "attribute")
            _text(attribute, "name", str(key))
            _text(attribute, "value", _attribute_text(value, ctx))
    return obj


def _attribute_text(value: Any, ctx: WriteContext) -> str:
    text = format_scalar(value)
    if text is None:
        ctx.loss("non-scalar attribute -> JSON text (VOC attributes are text)")
        return json.dumps(value, default=str)
    if not reads_back(text, value):
        ctx.loss("attribute changes type on re-import (VOC attributes are untyped text)")
    return text


def _write_labelmap(path: Path, book: LabelBook, used: set[str]) -> None:
    names = book.names() + sorted(used - set(book.names()))
    lines = ["# label:color_rgb:parts:actions"]
    for name in names:
        rgb = book.classes[name].rgb() if name in book.classes else None
        lines.append(f"{name}:{','.join(map(str, rgb)) if rgb else ''}::")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
