"""Reading the XML of the original MIT LabelMe web tool (layout and conventions: see ``__init__``)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
from PIL import Image, UnidentifiedImageError

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats._common.xmlio import ImageFinder, parse_int, parse_number, parse_scalar, parse_xml
from keepsight.formats.base import ImportItem, ReadContext, Reading, image_size, iter_images, relative_name, safe_join
from keepsight.formats.voc.layout import xml_kind
from keepsight.model import Annotation, Box, LabelBook, Mask, Polygon
from keepsight.model.annotation import split_or_none
from keepsight.model.convert import array_to_mask

PEEK_FILES = 5  # XML files parsed by detect
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class XmlTree:
    root: Path  # holds Annotations/, Images/, Masks/
    annotations: Path


def _child(folder: Path, name: str) -> Path | None:
    """The sub-folder ``name`` in any letter case."""
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_dir() and p.name.lower() == name), None)


def find_xml_tree(path: Path) -> XmlTree | None:
    """The LabelMe XML tree ``path`` is (the root), is in (its Annotations/ folder or one XML), or None."""
    annotations: Path | None
    if path.is_file():
        parents = path.parents if path.suffix.lower() == ".xml" else []
        annotations = next((p for p in parents if p.name.lower() == "annotations"), None)
    elif path.name.lower() == "annotations":
        annotations = path
    else:
        annotations = _child(path, "annotations")
    if annotations is None or not _holds_labelme_xml(annotations):
        return None
    return XmlTree(annotations.parent, annotations)


def _holds_labelme_xml(folder: Path) -> bool:
    """A few XML files peeked: LabelMe's (<polygon>, <segm>, <imagesize>) and none VOC's (<bndbox>, <size>)."""
    kinds = set()
    for xml in islice((p for p in folder.rglob("*.xml") if p.is_file() and not p.name.startswith(".")), PEEK_FILES):
        try:
            kinds.add(xml_kind(parse_xml(xml)))
        except ParseError:
            continue
    return "labelme_xml" in kinds and "voc" not in kinds


def read_labelme_xml(tree: XmlTree, ctx: ReadContext) -> Reading:
    return Reading(labelbook=LabelBook(), items=_XmlItems(tree, ctx).items(), classes_declared=False)


def _folder(folder: Path, top: Path) -> str:
    """``folder`` relative to ``top`` as POSIX, "" for ``top`` itself (the subset name)."""
    relative = folder.relative_to(top).as_posix()
    return "" if relative == "." else relative


def _subset_fields(subset: str) -> dict[str, Any]:
    """ImportItem fields for a subset folder: a split when it names one, else ``metadata["subset"]``."""
    if not subset:
        return {}
    split = split_or_none(subset)
    return {"metadata": {"subset": subset}} if split is None else {"split": split}


class _XmlItems:
    def __init__(self, tree: XmlTree, ctx: ReadContext) -> None:
        self.root = tree.root
        self.annotations = tree.annotations
        self.images = _child(self.root, "images") or self.root / "Images"
        self.masks = _child(self.root, "masks") or self.root / "Masks"
        self.ctx = ctx
        self.finder = ImageFinder(self.root)
        self.claimed: set[Path] = set()

    def items(self) -> Iterator[ImportItem]:
        for xml in sorted(self.annotations.rglob("*.xml")):
            if xml.is_file() and not xml.name.startswith("."):
                item = self._item(xml)
                if item is not None:
                    yield item
        for image in iter_images(self.images) if self.images.is_dir() else ():
            if image not in self.claimed:  # an image no XML names: imported without annotations
                subset = _folder(image.parent, self.images)
                yield ImportItem(path=relative_name(image, self.root), source=image, **_subset_fields(subset))

    def _item(self, xml: Path) -> ImportItem | None:
        subset = _folder(xml.parent, self.annotations)
        try:
            document = parse_xml(xml)
            if document.tag != "annotation":
                raise ParseError(f"not a LabelMe annotation: the root element is <{document.tag}>", path=xml)
            image = self._image(xml, subset, (document.findtext("filename") or "").strip() or xml.stem)
            size = _size(document.find("imagesize"))
        except KeepsightError as err:
            self.ctx.problem(err.with_location(xml, None))
            return None
        item = ImportItem(
            path=relative_name(image, self.root) if image.is_file() else image.relative_to(self.root).as_posix(),
            source=image,
            expected_size=size,
            origin=relative_name(xml, self.root),
            **_subset_fields(subset),
        )
        objects = document.findall("object")
        positions = _positions(objects)
        skipped = self._deleted(xml, objects)
        for number, obj in enumerate(objects, start=1):
            if number in skipped:
                continue
            try:
                annotation = self._object(obj, subset, size or image, positions)
            except KeepsightError as err:
                self.ctx.problem(err.with_location(xml, f"object {number}"))
                continue
            if annotation.attributes.get("part_of") in skipped:  # the whole was deleted: no longer a part
                del annotation.attributes["part_of"]
            item.annotations.append(annotation)
        return item

    def _deleted(self, xml: Path, objects: list[Element]) -> set[int]:
        """Positions of the objects marked <deleted>1</deleted> (or with a bad flag, once reported)."""
        deleted = set()
        for number, obj in enumerate(objects, start=1):
            text = (obj.findtext("deleted") or "").strip()
            try:
                if text and parse_int(text, "<deleted>") != 0:
                    deleted.add(number)
            except AnnotationError as err:
                self.ctx.problem(err.with_location(xml, f"object {number}"))
                deleted.add(number)
        return deleted

    def _image(self, xml: Path, subset: str, filename: str) -> Path:
        """Images/<subset>/<filename>, else that name in any case or by stem there, else anywhere."""
        relative = posixpath.join(subset, filename.replace("\\", "/"))
        expected = safe_join(self.images, relative, origin=xml, element="filename")
        found = expected if expected.is_file() else self.finder.in_folder(self.images, relative)
        found = found or self.finder.anywhere(filename, origin=xml, element="filename")
        if found is None:
            return expected  # missing: the importer reports it
        self.claimed.add(found)
        return found

    def _object(self, obj: Element, subset: str, size: tuple[int, int] | Path, positions: dict[int, int]) -> Annotation:
        label = (obj.findtext("name") or "").strip()
        if not label:
            raise AnnotationError("the object has no <name>")
        attributes = parse_attributes(obj.findtext("attributes") or "")
        if (obj.findtext("occluded") or "").strip().lower() == "yes":
            attributes["occluded"] = True
        parent = _parent(obj, positions)
        if parent is not None:
            attributes["part_of"] = parent
        polygon, segm = obj.find("polygon"), obj.find("segm")
        if polygon is not None:
            box_type = (obj.findtext("type") or "").strip() == "bounding_box"
            return Annotation(label, _polygon(polygon, box_type), attributes)
        if segm is not None:
            return Annotation(label, self._mask(segm, subset, size), attributes)
        raise AnnotationError("the object has neither <polygon> nor <segm>")

    def _mask(self, segm: Element, subset: str, size: tuple[int, int] | Path) -> Mask:
        """Masks/<subset>/<mask>: full-image, or box-sized and placed at the box's top-left corner."""
        name = (segm.findtext("mask") or "").strip()
        if not name:
            raise AnnotationError("<segm> has no <mask> file name")
        file = safe_join(self.masks, posixpath.join(subset, name))
        if not file.is_file():
            raise AnnotationError(f"mask file {relative_name(file, self.root)} is missing")
        try:
            with Image.open(file) as png:
                array = np.asarray(png)
        except (UnidentifiedImageError, OSError):
            raise AnnotationError(f"mask file {relative_name(file, self.root)} is not a readable image") from None
        region = array.any(axis=2) if array.ndim == 3 else array > 0  # any colour or alpha is the object
        width, height = size if isinstance(size, tuple) else image_size(size)
        if region.shape == (height, width):
            return array_to_mask(region)
        left, top, right, bottom = _box(segm.find("box"))
        if region.shape not in {(bottom - top, right - left), (bottom - top + 1, right - left + 1)}:
            raise AnnotationError(
                f"mask {name} is {region.shape[1]}x{region.shape[0]}: neither the {width}x{height} image "
                f"nor its <box> ({left}, {top}, {right}, {bottom})"
            )
        if left < 0 or top < 0 or left + region.shape[1] > width or top + region.shape[0] > height:
            raise AnnotationError(f"mask {name} at ({left}, {top}) is not inside the {width}x{height} image")
        full = np.zeros((height, width), dtype=bool)
        full[top : top + region.shape[0], left : left + region.shape[1]] = region
        return array_to_mask(full)


def parse_attributes(text: str) -> dict[str, Any]:
    """``a1, color=red, size=3, code="12"``: a flag is True, values are typed unless quoted.

    A backslash escapes the next character (``\\,`` ``\\=`` ``\\"`` ``\\\\``), as datumaro writes them.
    """
    attributes: dict[str, Any] = {}
    for part in _split(text, ","):
        if not part.strip():
            continue
        key, *value = (s.strip() for s in _split(part, "=", once=True))
        if not key:
            raise AnnotationError(f"attribute {part.strip()!r} has no name")
        if not value:
            attributes[_unescape(key)] = True
        elif len(value[0]) > 1 and value[0][0] == value[0][-1] == '"':
            attributes[_unescape(key)] = _unescape(value[0][1:-1])
        else:
            attributes[_unescape(key)] = parse_scalar(_unescape(value[0]))
    return attributes


def _split(text: str, separator: str, *, once: bool = False) -> list[str]:
    """``text`` split at the separators no backslash escapes (escapes are kept for :func:`_unescape`)."""
    parts: list[str] = []
    start = index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == separator and not (once and parts):
            parts.append(text[start:index])
            start = index + 1
        index += 1
    return [*parts, text[start:]]


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def _size(element: Element | None) -> tuple[int, int] | None:
    """(width, height) from <imagesize><nrows><ncols>, when both are given."""
    if element is None:
        return None
    rows, cols = (element.findtext(tag, "").strip() for tag in ("nrows", "ncols"))
    if not rows or not cols:
        return None
    width, height = parse_int(cols, "imagesize/ncols"), parse_int(rows, "imagesize/nrows")
    if width <= 0 or height <= 0:
        raise AnnotationError(f"<imagesize> must be positive, got {width}x{height}")
    return width, height


def _positions(objects: list[Element]) -> dict[int, int]:
    """LabelMe object <id> -> 1-based position in the file (ids are 0-based positions when absent or bad)."""
    positions = {}
    for number, obj in enumerate(objects, start=1):
        try:
            positions[parse_int(obj.findtext("id") or str(number - 1), "id")] = number
        except AnnotationError:
            continue  # a bad <id> only matters to the objects that name it
    return positions


def _parent(obj: Element, positions: dict[int, int]) -> int | None:
    """The position of the object this one is part of (<parts><ispartof>; the first when several)."""
    text = (obj.findtext("parts/ispartof") or "").split(",")[0].strip()
    if not text:
        return None
    parent = parse_int(text, "ispartof")
    if parent not in positions:
        raise AnnotationError(f"<ispartof> {parent} names no object <id> in the file")
    return positions[parent]


def _polygon(element: Element, box_type: bool) -> Polygon | Box:
    points = [
        (parse_number(pt.findtext("x"), f"x of point {i}"), parse_number(pt.findtext("y"), f"y of point {i}"))
        for i, pt in enumerate(element.findall("pt"), start=1)
    ]
    polygon = Polygon(tuple(points))
    x1, y1, x2, y2 = polygon.bounds()
    corners = {(x1, y1), (x2, y1), (x2, y2), (x1, y2)}
    if box_type and len(points) == 4 and set(points) == corners:  # an axis-aligned rectangle
        return Box(x1, y1, x2, y2)
    return polygon


def _box(element: Element | None) -> tuple[int, int, int, int]:
    if element is None:
        raise AnnotationError("the mask is not image-sized and <segm> has no <box> to place it")
    values = [parse_number(element.findtext(tag), tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
    if not all(np.isfinite(values)):
        raise AnnotationError(f"<box> has a NaN or infinite coordinate: {values}")
    left, top, right, bottom = (int(round(v)) for v in values)
    return left, top, right, bottom
