"""Reading COCO annotation files into import items."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats._common.jsonio import load_json
from keepsight.formats.base import ImportItem, ReadContext
from keepsight.formats.coco.layout import IGNORED_TASKS, CocoFile, ImageResolver
from keepsight.model.annotation import Annotation
from keepsight.model.convert import xywh_to_xyxy
from keepsight.model.geometry import Geometry, Mask, Points, Polygon, Tag
from keepsight.model.labelbook import LabelBook

GROUP_ATTRIBUTE = "coco_group"  # shared by the Polygon parts of one multi-part COCO annotation
CROWD_ATTRIBUTE = "iscrowd"
_TASK_ORDER = ("instances", "stuff", "labels", "person_keypoints", "image_info")


@dataclass
class LoadedFile:
    """A parsed annotation file and what it says about the dataset."""

    file: CocoFile
    origin: str  # the file's path relative to the dataset root, for error messages
    doc: dict[str, Any]
    categories: dict[int, str] = field(default_factory=dict)
    regions: bool = True  # False: take only keypoints (a keypoints file next to an instances file)


def load_files(root: Path, files: list[CocoFile], ctx: ReadContext, labelbook: LabelBook) -> list[LoadedFile]:
    """Parse every file and collect the declared categories into ``labelbook``."""
    loaded = []
    for coco_file in files:
        if coco_file.task in IGNORED_TASKS:
            continue
        origin = coco_file.path.relative_to(root).as_posix()
        try:
            doc = load_json(coco_file.path)
            if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
                raise ParseError("not a COCO file: expected an object with an 'images' list", path=coco_file.path)
        except KeepsightError as err:
            ctx.problem(err)
            continue
        entry = LoadedFile(coco_file, origin, doc, _categories(doc, coco_file.path, ctx))
        for name in entry.categories.values():
            labelbook.add(name)
        loaded.append(entry)
    # COCO's keypoint files repeat the boxes and polygons of the instances file of their split.
    with_instances = {e.file.split_name for e in loaded if e.file.task == "instances"}
    for entry in loaded:
        if entry.file.task == "person_keypoints" and entry.file.split_name in with_instances:
            entry.regions = False
    return loaded


def _categories(doc: dict[str, Any], path: Path, ctx: ReadContext) -> dict[int, str]:
    categories: dict[int, str] = {}
    raw = doc.get("categories", [])
    if not isinstance(raw, list):
        ctx.problem(ParseError("'categories' must be a list", path=path))
        return categories
    for index, cat in enumerate(raw):
        if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or not isinstance(cat.get("name"), str):
            ctx.problem(
                AnnotationError(
                    "a category needs an integer 'id' and a 'name'", path=path, element=f"category #{index}"
                )
            )
            continue
        if not cat["name"].strip():
            ctx.problem(AnnotationError("a category has an empty name", path=path, element=f"category id {cat['id']}"))
            continue
        categories[cat["id"]] = cat["name"]
    return categories


def iter_items(root: Path, loaded: list[LoadedFile], ctx: ReadContext) -> Iterator[ImportItem]:
    """Items split by split; the files of one split (instances, labels, stuff...) merge by image."""
    splits = list(dict.fromkeys(e.file.split_name for e in loaded))
    # The instances file comes first, so it names the items in error messages.
    loaded = sorted(loaded, key=lambda e: _TASK_ORDER.index(e.file.task) if e.file.task in _TASK_ORDER else 0)
    for split_name in splits:
        items: dict[str, ImportItem] = {}
        for entry in loaded:
            if entry.file.split_name == split_name:
                _read_file(root, entry, items, ctx)
                entry.doc = {}  # this split is done: let the parsed JSON go
        yield from items.values()


def _read_file(root: Path, entry: LoadedFile, items: dict[str, ImportItem], ctx: ReadContext) -> None:
    resolver = ImageResolver(root, entry.file)
    by_id: dict[Any, ImportItem] = {}
    for index, image in enumerate(entry.doc["images"]):
        try:
            image_id, item = _image_item(image, index, entry, resolver)
            if image_id in by_id:
                raise AnnotationError(
                    f"image id {image_id} is listed twice", path=entry.file.path, element=f"image #{index}"
                )
        except KeepsightError as err:
            ctx.problem(err)
            continue
        # Files of one split (instances, labels, stuff...) describe the same images: merge them.
        by_id[image_id] = items.setdefault(item.path, item)
    annotations = entry.doc.get("annotations", [])
    if not isinstance(annotations, list):
        ctx.problem(ParseError("'annotations' must be a list", path=entry.file.path))
        return
    for index, ann in enumerate(annotations):
        element = f"annotation id {ann.get('id', f'#{index}')}" if isinstance(ann, dict) else f"annotation #{index}"
        try:
            if not isinstance(ann, dict):
                raise AnnotationError("an annotation must be an object")
            image_id = ann.get("image_id")
            target = by_id.get(image_id) if isinstance(image_id, (int, str)) else None
            if target is None:
                raise AnnotationError(f"image_id {ann.get('image_id')!r} is not listed in 'images'")
            target.annotations.extend(_annotations(ann, entry, target.expected_size))
        except AnnotationError as err:
            ctx.problem(AnnotationError(err.reason, path=entry.file.path, element=err.element or element))


def _image_item(image: Any, index: int, entry: LoadedFile, resolver: ImageResolver) -> tuple[Any, ImportItem]:
    path = entry.file.path
    if (
        not isinstance(image, dict)
        or not isinstance(image.get("id"), (int, str))
        or not isinstance(image.get("file_name"), str)
    ):
        raise AnnotationError(
            "an image needs an integer or string 'id' and a 'file_name'", path=path, element=f"image #{index}"
        )
    element = f"image id {image['id']}"
    rel, source = resolver.resolve(image["file_name"], origin=str(path), element=element)
    width, height = image.get("width"), image.get("height")
    size = (width, height) if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0 else None
    item = ImportItem(
        path=rel, source=source, split=entry.file.split, expected_size=size, origin=entry.origin, element=element
    )
    return image["id"], item


def _annotations(ann: dict[str, Any], entry: LoadedFile, size: tuple[int, int] | None) -> list[Annotation]:
    category = ann.get("category_id")
    if not isinstance(category, int) or category not in entry.categories:
        raise AnnotationError(f"category_id {category!r} is not declared in 'categories'")
    label = entry.categories[category]
    attributes = dict(ann["attributes"]) if isinstance(ann.get("attributes"), dict) else {}
    if ann.get("iscrowd") in (1, True):
        attributes[CROWD_ATTRIBUTE] = True
    geometries = _regions(ann, size) if entry.regions else []
    if len(geometries) > 1:
        attributes[GROUP_ATTRIBUTE] = ann.get("id")
    out = [Annotation(label, g, dict(attributes)) for g in geometries]
    keypoints = _keypoints(ann.get("keypoints"))
    if keypoints is not None:
        out.append(Annotation(label, keypoints, {k: v for k, v in attributes.items() if k != GROUP_ATTRIBUTE}))
    if not out and entry.regions:  # neither region nor keypoints: an image-level label (Datumaro's coco_labels)
        out.append(Annotation(label, Tag(), attributes))
    return out


def _regions(ann: dict[str, Any], size: tuple[int, int] | None) -> list[Geometry]:
    """The segmentation when there is one (its bbox is derived from it), else the bbox."""
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        return [_mask(seg, size)]
    if isinstance(seg, list):
        parts = seg if all(isinstance(p, list) for p in seg) else [seg]  # a flat list is one polygon
        polygons = [Polygon.from_json(_numbers(part, "segmentation polygon")) for part in parts if part]
        if polygons:
            return polygons
    bbox = ann.get("bbox")
    if bbox is None or bbox == []:
        return []
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise AnnotationError(f"bbox must be [x, y, width, height], got {bbox!r}")
    x, y, w, h = _numbers(bbox, "bbox")
    if w < 0 or h < 0:
        raise AnnotationError(f"bbox has a negative width or height: {bbox}")
    return [xywh_to_xyxy(x, y, w, h)]


def _mask(seg: dict[str, Any], size: tuple[int, int] | None) -> Mask:
    rle_size, counts = seg.get("size"), seg.get("counts")
    if not (isinstance(rle_size, list) and len(rle_size) == 2 and all(_is_count(v) and v > 0 for v in rle_size)):
        raise AnnotationError(f"RLE 'size' must be [height, width], got {rle_size!r}")
    if not (isinstance(counts, str) or (isinstance(counts, list) and all(_is_count(c) for c in counts))):
        raise AnnotationError("RLE 'counts' must be a string or a list of non-negative integers")
    if isinstance(counts, str) and _compressed_total(counts) != rle_size[0] * rle_size[1]:
        raise AnnotationError(f"RLE 'counts' string does not cover the {rle_size[0]}x{rle_size[1]} image")
    mask = Mask.from_json(seg)  # compressed or uncompressed (iscrowd) RLE
    if size is not None and (mask.width, mask.height) != size:
        raise AnnotationError(f"RLE size {mask.width}x{mask.height} differs from the image's {size[0]}x{size[1]}")
    return mask


def _compressed_total(counts: str) -> int | None:
    """Pixels covered by a pycocotools compressed RLE string, or None when it is malformed.

    Each run is a signed little-endian base-32 number in characters 48..111 (bit 5 = more to
    come); from the fourth run on it is stored as the difference to the run two before.
    """
    runs: list[int] = []
    value = shift = 0
    for char in counts:
        code = ord(char) - 48
        if not 0 <= code < 64:
            return None
        value |= (code & 0x1F) << shift
        shift += 5
        if code & 0x20:
            continue
        if code & 0x10:  # sign bit of the last group
            value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            return None
        runs.append(value)
        value = shift = 0
    return sum(runs) if shift == 0 else None


def _keypoints(raw: Any) -> Points | None:
    """COCO ``[x, y, v, ...]`` triplets; points with visibility 0 are not labelled and are left out."""
    if not raw:
        return None
    values = _numbers(raw, "keypoints")
    if len(values) % 3:
        raise AnnotationError(f"keypoints must be x, y, v triplets, got {len(values)} numbers")
    visible = [(values[i], values[i + 1]) for i in range(0, len(values), 3) if values[i + 2] > 0]
    return Points(tuple(visible)) if visible else None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers(raw: Any, what: str) -> list[float]:
    if not isinstance(raw, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        raise AnnotationError(f"{what} must be a list of numbers, got {str(raw)[:80]}")
    values = [float(v) for v in raw]
    if not all(math.isfinite(v) for v in values):
        raise AnnotationError(f"{what} has a NaN or infinite value: {raw}")
    return values
