"""Writing CVAT for images 1.1: ``annotations.xml`` + ``images/<sample path>``.

The ``<image>`` elements are streamed to a temporary file first because the ``<meta>`` block,
which comes before them, declares every attribute the shapes use.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from keepsight.formats._common.xmlio import fmt_num, format_scalar
from keepsight.formats.base import ExportView, WriteContext, safe_join
from keepsight.model import (
    Annotation,
    AttributeSpec,
    Box,
    LabelBook,
    Mask,
    Points,
    Polygon,
    Polyline,
    RotatedBox,
    Sample,
)

from .rle import mask_to_rle

SHAPE_FIELDS = {"occluded": bool, "z_order": int, "group_id": int, "source": str}  # XML attributes, not <attribute>
_INPUT_TYPES = {"bool": "checkbox", "number": "number", "choice": "select", "text": "text"}


class _UsedAttributes:
    """Values each (label, attribute) takes, to declare the attributes in ``<meta>``."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))

    def add(self, label: str, name: str, value: Any) -> None:
        self.values[label][name].append(value)

    def spec(self, label: str, name: str, declared: AttributeSpec | None) -> AttributeSpec:
        """The declared type when every value fits it, else a type inferred from the values."""
        values = self.values.get(label, {}).get(name, [])
        if not values:
            return declared or AttributeSpec()
        if all(isinstance(v, bool) for v in values):
            return AttributeSpec(type="bool")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return AttributeSpec(type="number")
        if declared is not None and declared.type == "choice" and all(isinstance(v, str) for v in values):
            extra = [v for v in dict.fromkeys(values) if v not in declared.choices]
            return AttributeSpec(type="choice", choices=[*declared.choices, *extra])
        return AttributeSpec(type="text")


def write_cvat(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    used = _UsedAttributes()
    labels: list[str] = []
    body = dest / ".annotations.images.partial"
    count = 0
    with body.open("w", encoding="utf-8") as out:
        for index, (sample, sample_annotations) in enumerate(view.samples()):
            view.copy_image(sample, safe_join(dest / "images", sample.path))
            element = _image_element(index, sample, sample_annotations, used, ctx)
            labels.extend(a.label for a in sample_annotations if a.label not in labels)
            ET.indent(element, level=1)
            out.write("  " + ET.tostring(element, encoding="unicode") + "\n")
            count += 1
    _report_retyped(used, view.labelbook, ctx)
    meta = _meta_element(view.labelbook, labels, used, count)
    ET.indent(meta, level=1)
    with (dest / "annotations.xml").open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n')
        out.write("  " + ET.tostring(meta, encoding="unicode") + "\n")
        with body.open(encoding="utf-8") as images:
            for line in images:
                out.write(line)
        out.write("</annotations>\n")
    body.unlink()


def _image_element(
    index: int, sample: Sample, annotations: list[Annotation], used: _UsedAttributes, ctx: WriteContext
) -> ET.Element:
    image = ET.Element(
        "image", {"id": str(index), "name": sample.path, "width": str(sample.width), "height": str(sample.height)}
    )
    if sample.split != "unassigned":
        image.set("subset", sample.split)
    for annotation in annotations:
        shape = _shape_element(annotation, ctx)
        if shape is not None:
            _attributes(shape, annotation, used, ctx)
            image.append(shape)
    return image


def _shape_element(annotation: Annotation, ctx: WriteContext) -> ET.Element | None:
    g = annotation.geometry
    fields: dict[str, str] = {"label": annotation.label}
    if isinstance(g, Box):
        fields.update(xtl=fmt_num(g.x1), ytl=fmt_num(g.y1), xbr=fmt_num(g.x2), ybr=fmt_num(g.y2))
    elif isinstance(g, RotatedBox):  # CVAT: the unrotated box plus degrees clockwise about its centre
        fields.update(
            xtl=fmt_num(g.cx - g.w / 2),
            ytl=fmt_num(g.cy - g.h / 2),
            xbr=fmt_num(g.cx + g.w / 2),
            ybr=fmt_num(g.cy + g.h / 2),
            rotation=fmt_num(g.angle),
        )
    elif isinstance(g, (Polygon, Polyline, Points)):
        fields["points"] = ";".join(f"{fmt_num(x)},{fmt_num(y)}" for x, y in g.points)
    elif isinstance(g, Mask):
        encoded = mask_to_rle(g)
        if encoded is None:
            ctx.loss("empty mask -> dropped (a CVAT mask needs at least one pixel)")
            return None
        rle, left, top, width, height = encoded
        fields.update(rle=rle, left=str(left), top=str(top), width=str(width), height=str(height))
    return ET.Element("box" if annotation.kind == "rotated_box" else annotation.kind, fields)


def _attributes(shape: ET.Element, annotation: Annotation, used: _UsedAttributes, ctx: WriteContext) -> None:
    for name, value in annotation.attributes.items():
        expected = SHAPE_FIELDS.get(name)
        if shape.tag != "tag" and expected is not None and type(value) is expected:
            shape.set(name, ("1" if value else "0") if expected is bool else str(value))
            continue
        text = format_scalar(value)
        if text is None:
            ctx.loss("non-scalar attribute -> JSON text (CVAT attributes are scalars)")
            text, value = json.dumps(value, default=str), json.dumps(value, default=str)
        used.add(annotation.label, name, value)
        ET.SubElement(shape, "attribute", {"name": str(name)}).text = text


def _report_retyped(used: _UsedAttributes, book: LabelBook, ctx: WriteContext) -> None:
    """Values of an attribute declared as text that are not text come back as text."""
    for label, names in used.values.items():
        spec_of = book.classes[label].attributes if label in book else {}
        for name, values in names.items():
            if used.spec(label, name, spec_of.get(name)).type in ("text", "choice"):
                retyped = sum(1 for v in values if not isinstance(v, str))
                if retyped:
                    ctx.loss("attribute of mixed types -> text (a CVAT attribute has one type)", retyped)


def _meta_element(book: LabelBook, used_labels: list[str], used: _UsedAttributes, count: int) -> ET.Element:
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "name").text = "keepsight export"
    ET.SubElement(task, "size").text = str(count)
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    for name in book.names() + [n for n in used_labels if n not in book]:
        spec = book.classes.get(name)
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "color").text = spec.colour if spec else ""
        ET.SubElement(label, "type").text = "any"
        declared = spec.attributes if spec else {}
        names = list(declared) + [n for n in used.values.get(name, {}) if n not in declared]
        attributes = ET.SubElement(label, "attributes")
        for attr_name in names:
            _declare(
                attributes,
                attr_name,
                used.spec(name, attr_name, declared.get(attr_name)),
                used.values.get(name, {}).get(attr_name, []),
            )
    ET.SubElement(meta, "dumped").text = datetime.now(UTC).isoformat(sep=" ")
    return meta


def _declare(parent: ET.Element, name: str, spec: AttributeSpec, values: list[Any]) -> None:
    attribute = ET.SubElement(parent, "attribute")
    ET.SubElement(attribute, "name").text = name
    ET.SubElement(attribute, "mutable").text = "False"
    ET.SubElement(attribute, "input_type").text = _INPUT_TYPES[spec.type]
    if spec.type == "bool":
        default, options = "false", ["false", "true"]
    elif spec.type == "number":  # CVAT's number values are min, max, step
        numbers = [float(v) for v in values] or [0.0, 1.0]
        step = "1" if all(float(v).is_integer() for v in numbers) else "0.001"
        default, options = fmt_num(min(numbers)), [fmt_num(min(numbers)), fmt_num(max(numbers)), step]
    elif spec.type == "choice":
        options = spec.choices or [str(v) for v in dict.fromkeys(values)]
        default = options[0] if options else ""
    else:
        default, options = "", []
    ET.SubElement(attribute, "default_value").text = default
    ET.SubElement(attribute, "values").text = "\n".join(options)
