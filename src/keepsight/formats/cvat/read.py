"""Reading CVAT for images 1.1 XML, streamed one ``<image>`` at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from keepsight.errors import AnnotationError, FormatError, KeepsightError, ParseError, UnknownFormatError
from keepsight.formats._common.xmlio import iterparse_xml, parse_int, parse_number, parse_scalar
from keepsight.formats.base import ImportItem, ReadContext, Reading, relative_name, safe_join
from keepsight.model import Annotation, AttributeSpec, Box, LabelBook, Points, Polygon, Polyline, RotatedBox, Tag
from keepsight.model.annotation import split_or_none
from keepsight.model.geometry import Geometry

from .rle import rle_to_mask

VIDEO_REASON = (
    "CVAT for video 1.1 (<track> elements) is not supported: tracks interpolate between key "
    "frames and name no image files; export the task as 'CVAT for images 1.1' instead"
)
INPUT_TYPES = {"checkbox": "bool", "number": "number", "select": "choice", "radio": "choice", "text": "text"}
SHAPES = ("box", "polygon", "polyline", "points", "mask", "tag")
_PEEK_BYTES = 8 << 20  # detection stops looking for the first <image>/<track> after this much
_ROOT = re.compile(rb"<annotations[\s>]")
_FIRST = re.compile(rb"<(image|track)[\s>/]")


def peek_kind(path: Path) -> str | None:
    """'images', 'video' (tracks) or None (not CVAT XML), reading as little of the file as needed."""
    with path.open("rb") as stream:
        data = stream.read(1 << 16)
        if not _ROOT.search(data[:8192]) or b"<meta" not in data and b"<version" not in data:
            return None
        while True:
            match = _FIRST.search(data)
            if match:
                return "images" if match.group(1) == b"image" else "video"
            chunk = stream.read(1 << 16)
            if not chunk or stream.tell() > _PEEK_BYTES:
                return "images"  # a task without images yet is still CVAT for images
            data = data[-16:] + chunk


@dataclass
class Meta:
    labels: dict[str, dict[str, AttributeSpec]] = field(default_factory=dict)  # label -> attribute specs
    colours: dict[str, str] = field(default_factory=dict)
    subset: str | None = None  # the task's subset, for images without a subset attribute


def read_meta(path: Path) -> Meta:
    """The ``<meta>`` block (labels of the task, project or job), stopping before the images."""
    meta = Meta()
    with closing(iterparse_xml(path)) as events:
        for event, element in events:
            if event == "start" and element.tag in ("image", "track"):
                break
            if event == "end" and element.tag == "meta":
                for label in element.iterfind(".//labels/label"):
                    name = (label.findtext("name") or "").strip()
                    if name:
                        meta.labels[name] = _attribute_specs(label)
                        meta.colours[name] = (label.findtext("color") or "").strip()
                meta.subset = (element.findtext("task/subset") or "").strip() or None
                break
    return meta


def _attribute_specs(label: Element) -> dict[str, AttributeSpec]:
    specs = {}
    for attribute in label.iterfind("attributes/attribute"):
        name = (attribute.findtext("name") or "").strip()
        kind = INPUT_TYPES.get((attribute.findtext("input_type") or "text").strip(), "text")
        values = attribute.findtext("values") or ""
        # CVAT joins values with newlines; some writers (datumaro's samples) use spaces.
        choices = [v.strip() for v in (values.split("\n") if "\n" in values else values.split()) if v.strip()]
        if name:
            specs[name] = AttributeSpec(type=kind, choices=choices if kind == "choice" else [])  # type: ignore[arg-type]
    return specs


def cvat_files(path: Path, limit: int | None = None) -> list[Path]:
    """The CVAT XML files ``read`` takes: ``path`` itself, or the top-level *.xml of a folder
    (``limit``: peek at most that many, ``annotations.xml`` first, to keep detection cheap)."""
    if path.is_file():
        return [path]
    xmls = sorted(p for p in path.glob("*.xml") if p.is_file() and not p.name.startswith("."))
    xmls.sort(key=lambda p: p.name != "annotations.xml")
    return [p for p in xmls[:limit] if peek_kind(p) is not None]


def read_cvat(path: Path, ctx: ReadContext) -> Reading:
    root = path.parent if path.is_file() else path
    files = cvat_files(path)
    if not files:
        raise UnknownFormatError("no CVAT XML (<annotations> with <meta> and <image> elements) found", path=path)
    book = LabelBook()
    metas: list[tuple[Path, Meta]] = []
    for file in files:
        try:
            if peek_kind(file) == "video":
                raise FormatError(VIDEO_REASON, path=file)
            meta = read_meta(file)
        except KeepsightError as err:
            ctx.problem(err)
            continue
        for name, specs in meta.labels.items():
            book.add(name, attributes=specs, **({"colour": meta.colours[name]} if meta.colours.get(name) else {}))
        metas.append((file, meta))
    declared = all(meta.labels for _, meta in metas)
    return Reading(labelbook=book, items=_CvatItems(root, ctx).items(metas), classes_declared=declared)


class _CvatItems:
    def __init__(self, root: Path, ctx: ReadContext) -> None:
        self.root = root
        self.ctx = ctx

    def items(self, metas: list[tuple[Path, Meta]]) -> Iterator[ImportItem]:
        for file, meta in metas:
            try:
                with closing(iterparse_xml(file)) as events:
                    for event, element in events:
                        if event != "end" or element.tag not in ("image", "track"):
                            continue
                        if element.tag == "track":
                            self.ctx.problem(
                                FormatError(VIDEO_REASON, path=file, element=f"track id {element.get('id')}")
                            )
                        else:
                            item = self._image(element, file, meta)
                            if item is not None:
                                yield item
                        element.clear()  # keep memory flat on large tasks
            except ParseError as err:
                self.ctx.problem(err)  # the rest of a malformed file cannot be read

    def _image(self, image: Element, file: Path, meta: Meta) -> ImportItem | None:
        where = f"image id {image.get('id')}"
        try:
            name = (image.get("name") or "").strip()
            if not name:
                raise AnnotationError("<image> has no name")
            subset = (image.get("subset") or meta.subset or _stem_split(file) or "").strip()
            source = self._image_path(name, subset, file, where)
            width, height = _size(image)
        except KeepsightError as err:
            self.ctx.problem(err.with_location(file, where))
            return None
        item = ImportItem(
            path=self._name(source),
            source=source,
            origin=self._name(file),
            element=where,
            expected_size=(width, height) if width and height else None,
        )
        item.split = split_or_none(subset) if subset else None
        if subset and item.split is None:
            item.metadata["subset"] = subset  # a custom CVAT subset is not one of keepsight's splits
        counts: dict[str, int] = {}
        for shape in image:
            counts[shape.tag] = counts.get(shape.tag, 0) + 1
            try:
                item.annotations.append(_shape(shape, meta, width, height))
            except AnnotationError as err:
                self.ctx.problem(err.with_location(file, f"{where}, {shape.tag} {counts[shape.tag]}"))
        return item

    def _image_path(self, name: str, subset: str, file: Path, where: str) -> Path:
        """images/<subset>/<name> (project export), images/<name> (task export), or <name>."""
        relative = safe_join(Path("."), name, origin=file, element=where).as_posix()
        images = self.root / "images"
        folders = [safe_join(images, subset, origin=file, element=where)] if subset else []
        candidates = [folder / relative for folder in [*folders, images, self.root]]
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            return found
        return candidates[0] if folders and folders[0].is_dir() else images / relative

    def _name(self, path: Path) -> str:
        return relative_name(path, self.root) if path.exists() else path.relative_to(self.root).as_posix()


def _stem_split(file: Path) -> str | None:
    """datumaro writes one ``<subset>.xml`` per subset: the file name is the split when it is one."""
    return file.stem if split_or_none(file.stem) is not None else None


def _size(image: Element) -> tuple[int | None, int | None]:
    values = []
    for key in ("width", "height"):
        text = image.get(key)
        values.append(parse_int(text, f"image {key}") if text is not None else None)
    return values[0], values[1]


def _shape(shape: Element, meta: Meta, width: int | None, height: int | None) -> Annotation:
    if shape.tag not in SHAPES:
        raise AnnotationError(f"<{shape.tag}> is not supported (only {', '.join(SHAPES)})")
    label = (shape.get("label") or "").strip()
    if not label:
        raise AnnotationError(f"<{shape.tag}> has no label")
    if meta.labels and label not in meta.labels:
        raise AnnotationError(f"label {label!r} is not declared in the <meta> labels")
    attributes = _shape_attributes(shape)
    specs = meta.labels.get(label, {})
    for child in shape.iterfind("attribute"):
        name = (child.get("name") or "").strip()
        if not name:
            raise AnnotationError("an <attribute> has no name")
        attributes[name] = _typed(child.text or "", specs.get(name), name)
    return Annotation(label, _geometry(shape, width, height), attributes)


def _shape_attributes(shape: Element) -> dict[str, Any]:
    """CVAT's own shape fields; defaults (not occluded, z_order 0, no group, manual) are not stored."""
    attributes: dict[str, Any] = {}
    if shape.get("occluded", "0").strip() == "1":
        attributes["occluded"] = True
    for key in ("z_order", "group_id"):
        value = parse_int(shape.get(key, "0"), key)
        if value:
            attributes[key] = value
    source = (shape.get("source") or "manual").strip()
    if source != "manual":
        attributes["source"] = source
    return attributes


def _typed(text: str, spec: AttributeSpec | None, name: str) -> Any:
    kind = spec.type if spec else "text"
    if kind == "bool":
        if text.strip().lower() not in ("true", "false"):
            raise AnnotationError(f"attribute {name!r} is a checkbox but holds {text!r}")
        return text.strip().lower() == "true"
    if kind == "number":
        value = parse_scalar(text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            value = parse_number(text, f"attribute {name!r}")
        return value
    return text


def _geometry(shape: Element, width: int | None, height: int | None) -> Geometry:
    if shape.tag == "tag":
        return Tag()
    if shape.tag == "box":
        xtl, ytl, xbr, ybr = (parse_number(shape.get(k), k) for k in ("xtl", "ytl", "xbr", "ybr"))
        rotation = parse_number(shape.get("rotation", "0"), "rotation")
        if rotation % 360:
            return RotatedBox((xtl + xbr) / 2, (ytl + ybr) / 2, xbr - xtl, ybr - ytl, rotation)
        return Box(xtl, ytl, xbr, ybr)
    if shape.tag == "mask":
        if not width or not height:
            raise AnnotationError("a <mask> needs the width and height of its <image>")
        left, top, w, h = (parse_int(shape.get(k), k) for k in ("left", "top", "width", "height"))
        return rle_to_mask(shape.get("rle") or "", left, top, w, h, width, height)
    points = _points(shape.get("points") or "")
    if shape.tag == "polygon":
        return Polygon(points)
    return Polyline(points) if shape.tag == "polyline" else Points(points)


def _points(text: str) -> tuple[tuple[float, float], ...]:
    points = []
    for pair in filter(None, (p.strip() for p in text.split(";"))):
        xy = pair.split(",")
        if len(xy) != 2:
            raise AnnotationError(f"points must be 'x,y;x,y...', got {text[:60]!r}")
        points.append((parse_number(xy[0], "x"), parse_number(xy[1], "y")))
    return tuple(points)
