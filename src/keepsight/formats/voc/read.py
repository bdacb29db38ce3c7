"""Reading Pascal VOC trees into ImportItems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from keepsight.errors import AnnotationError, ImageError, KeepsightError, ParseError, UnknownFormatError
from keepsight.formats._common.xmlio import ImageFinder, parse_int, parse_number, parse_scalar, parse_xml
from keepsight.formats.base import (
    IMAGE_EXTENSIONS,
    ImportItem,
    ReadContext,
    Reading,
    iter_images,
    relative_name,
    safe_join,
)
from keepsight.model import Annotation, AttributeSpec, Box, LabelBook
from keepsight.model.annotation import Split

from .layout import VocTree, find_trees, read_labelmap, read_splits, xml_kind
from .masks import ClassColours, read_masks

FLAGS = ("difficult", "truncated", "occluded")
UNSPECIFIED_POSE = "Unspecified"


@dataclass
class _TreeState:
    tree: VocTree
    classes: set[str] | None  # declared by labelmap.txt; None = no label map
    colours: ClassColours
    splits: dict[str, Split]


def read_voc(top: Path, ctx: ReadContext) -> Reading:
    notes: list[str] = []
    trees = find_trees(top, notes)
    if not trees:
        raise UnknownFormatError(
            "no Pascal VOC annotation folder found: "
            + ("; ".join(notes) or "no Annotations/ folder or folder of VOC *.xml"),
            path=top,
        )
    book = LabelBook()
    states = [_tree_state(tree, book, ctx) for tree in trees]
    declared = all(state.classes is not None for state in states)
    return Reading(labelbook=book, items=_VocItems(top, ctx).items(states), classes_declared=declared)


def _tree_state(tree: VocTree, book: LabelBook, ctx: ReadContext) -> _TreeState:
    path = tree.base / "labelmap.txt"
    entries = None
    if not tree.flat and path.is_file():
        try:
            entries = read_labelmap(path)
        except ParseError as err:
            ctx.problem(err)
    classes = None
    if entries is not None:
        classes = set()
        for name, colour, parts, actions in entries:
            extra: dict[str, Any] = {"attributes": {a: AttributeSpec(type="bool") for a in actions}}
            if colour is not None:
                extra["colour"] = "#{:02x}{:02x}{:02x}".format(*colour)
            book.add(name, **extra)
            for part in parts:
                book.add(part)
            classes.update([name, *parts])
    colours = ClassColours.build([(name, colour) for name, colour, _, _ in entries] if entries else None)
    return _TreeState(tree, classes, colours, {} if tree.flat else read_splits(tree, ctx))


class _VocItems:
    def __init__(self, top: Path, ctx: ReadContext) -> None:
        self.top = top
        self.ctx = ctx
        self.finder = ImageFinder(top)
        self.claimed: set[Path] = set()

    def items(self, states: list[_TreeState]) -> Iterator[ImportItem]:
        for state in states:
            tree = state.tree
            xmls = tree.ann_dir.glob("*.xml") if tree.flat else tree.ann_dir.rglob("*.xml")
            for xml_path in sorted(p for p in xmls if p.is_file() and not p.name.startswith(".")):
                item = self._xml_item(state, xml_path)
                if item is not None:
                    yield item
            yield from self._unannotated(state)

    def _xml_item(self, state: _TreeState, xml_path: Path) -> ImportItem | None:
        tree = state.tree
        try:
            root = parse_xml(xml_path)
            kind = xml_kind(root)
            if tree.flat and kind != "voc":
                return None  # another XML beside the images: not ours
            if root.tag != "annotation" or kind == "labelme_xml":
                what = "old LabelMe XML" if kind else f"root element <{root.tag}>"
                raise ParseError(f"not a Pascal VOC annotation ({what})", path=xml_path)
            item_id = xml_path.relative_to(tree.ann_dir).with_suffix("").as_posix()
            filename = (root.findtext("filename") or "").strip() or xml_path.stem
            safe_join(tree.base, filename, origin=xml_path, element="filename")
            image = self._find_image(tree, xml_path, item_id, filename)
        except KeepsightError as err:
            self.ctx.problem(err)
            return None
        if image is None:
            image = _expected_image(tree, item_id, filename)
            if image.suffix.lower() not in IMAGE_EXTENSIONS:
                image = image.with_name(image.name + ".jpg")
        else:
            self.claimed.add(image)
        item = ImportItem(
            path=self._name(image),
            source=image,
            split=tree.split or state.splits.get(item_id),
            expected_size=self._size(root, xml_path),
            origin=self._name(xml_path),
        )
        objects = root.findall("object")
        for number, obj in enumerate(objects, start=1):
            try:
                item.annotations.extend(_object(obj, number, state.classes))
            except AnnotationError as err:
                self.ctx.problem(err.with_location(xml_path, f"object {number}"))
        item.annotations.extend(self._masks(state, item_id, [(o.findtext("name") or "").strip() for o in objects]))
        return item

    def _name(self, path: Path) -> str:
        return relative_name(path, self.top) if path.exists() else path.relative_to(self.top).as_posix()

    def _find_image(self, tree: VocTree, xml_path: Path, item_id: str, filename: str) -> Path | None:
        sub = item_id.rpartition("/")[0]
        for folder in tree.image_dirs:
            for relative in ([f"{sub}/{filename}"] if sub else []) + [filename]:
                found = self.finder.in_folder(folder, relative)
                if found is not None:
                    return found
        found = self.finder.in_folder(xml_path.parent, filename)
        return found or self.finder.anywhere(filename, origin=xml_path, element="filename")

    def _size(self, root: Element, xml_path: Path) -> tuple[int, int] | None:
        size = root.find("size")
        if size is None:
            return None
        try:
            width = parse_int(size.findtext("width"), "<size><width>")
            height = parse_int(size.findtext("height"), "<size><height>")
        except AnnotationError as err:
            self.ctx.problem(err.with_location(xml_path, "size"))
            return None
        return (width, height) if width > 0 and height > 0 else None

    def _masks(self, state: _TreeState, item_id: str, objects: list[str]) -> list[Annotation]:
        try:
            return read_masks(state.tree, item_id, state.colours, objects)
        except (AnnotationError, ImageError) as err:
            self.ctx.problem(err)
            return []

    def _unannotated(self, state: _TreeState) -> Iterator[ImportItem]:
        """Images of the tree's image folders that no XML names (OK images often have no XML)."""
        tree = state.tree
        for folder in tree.image_dirs:
            for image in _images_in(folder, recursive=not tree.flat):
                if image in self.claimed:
                    continue
                self.claimed.add(image)
                item_id = image.relative_to(folder).with_suffix("").as_posix()
                item = ImportItem(path=self._name(image), source=image, split=tree.split or state.splits.get(item_id))
                item.annotations.extend(self._masks(state, item_id, []))
                yield item


def _expected_image(tree: VocTree, item_id: str, filename: str) -> Path:
    """Where the image should be when it was not found: the first image folder (VOC's JPEGImages)."""
    if tree.flat:
        folder = tree.ann_dir
    else:
        folder = tree.image_dirs[0] if tree.image_dirs else tree.base / "JPEGImages"
        folder = folder.joinpath(*item_id.split("/")[:-1])
    return folder.joinpath(*filename.replace("\\", "/").split("/"))


def _images_in(folder: Path, *, recursive: bool) -> Iterator[Path]:
    if recursive:
        yield from iter_images(folder)
    else:
        yield from sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _object(obj: Element, number: int, classes: set[str] | None) -> list[Annotation]:
    """An ``<object>`` as a box, plus one box per ``<part>`` (attribute ``part_of`` = object number)."""
    name = _label(obj, classes)
    attributes: dict[str, Any] = {}
    for flag in FLAGS:
        if _flag(obj, flag):
            attributes[flag] = True
    pose = (obj.findtext("pose") or "").strip()
    if pose and pose != UNSPECIFIED_POSE:
        attributes["pose"] = pose
    actions = obj.find("actions")
    for action in actions if actions is not None else []:
        attributes[action.tag] = _flag(actions, action.tag)  # type: ignore[arg-type]
    for attr in obj.findall("attributes/attribute"):
        key = (attr.findtext("name") or "").strip()
        if not key:
            raise AnnotationError("an <attributes><attribute> has no <name>")
        attributes[key] = parse_scalar(attr.findtext("value"))
    found = [Annotation(name, _bndbox(obj), attributes)]
    for part in obj.findall("part"):
        found.append(Annotation(_label(part, classes), _bndbox(part), {"part_of": number}))
    return found


def _label(obj: Element, classes: set[str] | None) -> str:
    name = (obj.findtext("name") or "").strip()
    if not name:
        raise AnnotationError(f"<{obj.tag}> has no <name>")
    if classes is not None and name not in classes:
        raise AnnotationError(f"class {name!r} is not declared in labelmap.txt")
    return name


def _flag(obj: Element, key: str) -> bool:
    text = obj.findtext(key)
    value = (text or "0").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no", ""):
        return False
    raise AnnotationError(f"<{key}> must be 0 or 1, got {text!r}")


def _bndbox(obj: Element) -> Box:
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise AnnotationError(f"<{obj.tag}> has no <bndbox>")
    values = []
    for key in ("xmin", "ymin", "xmax", "ymax"):
        text = bndbox.findtext(key)
        if text is None:
            raise AnnotationError(f"<bndbox> has no <{key}>")
        values.append(parse_number(text, f"<{key}>"))
    return Box(*values)
