"""Ultralytics / Darknet YOLO datasets: detect, segment, OBB, pose and classify.

Layouts read::

    root/data.yaml                 names (list or {id: name}), train/val/test (folders or .txt image
    root/images/train/a.jpg        lists, relative to the yaml or its ``path``), optional task, kpt_shape
    root/labels/train/a.txt        label = image path with the last "images" folder -> "labels", .txt

    root/train/images, root/train/labels, root/valid/...   (Roboflow: "../train/images" in data.yaml)

    root/obj.data, obj.names, train.txt, obj_train_data/a.jpg + a.txt     (Darknet "strict")
    root/obj.names | classes.txt, images/[<split>/]a.jpg, labels/[<split>/]a.txt
    root/obj.names, Images/a.jpg, Annotations/a.txt                      (Datumaro "annotations")
    root/train/<class>/a.jpg, root/val/<class>/b.jpg                     (classify)

Label lines hold normalised coordinates, so image sizes come from the image headers:
``cls cx cy w h`` -> box; ``cls x1 y1 ... xn yn`` (n >= 3) -> polygon; with the obb task,
``cls x1 y1 ... x4 y4`` -> rotated box; with the pose task, ``cls cx cy w h`` + keypoints ->
box + points (attribute ``visibility`` when keypoints have 3 values). 8 coordinates are a
4-vertex polygon unless the dataset says obb: ``task: obb`` in the yaml, a yaml named like
``*obb*``/``*dota*`` (Ultralytics' own OBB yamls carry no task), or the ``yolo_task`` option,
which overrides the yaml. ``kpt_shape`` in the yaml means pose.

Written layout: ``data.yaml`` (absolute ``path``, train/val/test folders, ``task``, names as
{id: name}), ``images/<split>/``, ``labels/<split>/`` (one file per image, empty when the image
has no objects) and ``train.txt``/``val.txt``/``test.txt`` lists of ``./images/<split>/...``;
or ``<split>/<class>/`` for classify. The task is ``yolo_task`` or the richest the annotations
need: any rotated box -> obb, else any polygon or mask -> segment, else boxes -> detect, else
tags only -> classify. Unassigned samples go to train.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from keepsight.errors import AnnotationError, ImageError, ParseError
from keepsight.formats._common.text import read_lines
from keepsight.formats.base import (
    Detection,
    ExportView,
    ImportItem,
    ReadContext,
    Reading,
    WriteContext,
    image_size,
    iter_images,
    relative_name,
)
from keepsight.formats.yolo import layout
from keepsight.formats.yolo.layout import Dataset
from keepsight.formats.yolo.lines import parse_line
from keepsight.formats.yolo.write import write as write_dataset
from keepsight.model.annotation import Annotation
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

NAME = "yolo"


class YoloFormat:
    name = NAME
    description = "Ultralytics / Darknet YOLO (data.yaml or obj.names + images/ + labels/, or class folders)"

    def detect(self, path: Path) -> Detection:
        if path.is_file():
            kind = layout.config_kind(path)
            if kind is None:
                return Detection.no(NAME, f"{path.name} is not a dataset yaml, obj.data, obj.names or classes.txt")
            return Detection(NAME, 0.7 if kind == "names" else 0.9, [f"{path.name} is a YOLO {kind} file"])
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        found = layout.find_config(path)
        if found is None:
            if layout.classify_splits(path):
                # Above image_folder (0.3): split folders of class folders is Ultralytics' classify layout.
                return Detection(NAME, 0.4, ["<split>/<class>/ image folders (YOLO classify)"])
            return Detection.no(
                NAME,
                "no data.yaml (with 'names' and 'train'/'val'/'test'), obj.data, obj.names "
                "or classes.txt, and no <split>/<class>/ image folders",
            )
        kind, config = found
        if _has_folder(path, "labelTxt") and not _has_folder(path, "labels"):
            return Detection(NAME, 0.2, [f"{config.name} found, but labels sit in labelTxt/ folders (DOTA)"])
        if kind == "names" and not any(_has_folder(path, f) for f in layout.LABEL_FOLDERS):
            return Detection(NAME, 0.2, [f"{config.name} found but no labels/ or Annotations/ folder"])
        return Detection(NAME, 0.9 if kind != "names" else 0.8, [f"{config.name} declares the classes"])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        dataset = layout.load_dataset(path, ctx)
        book = LabelBook()
        for name in dataset.names.values():
            book.add(name)
        items = _classify_items(dataset, ctx) if dataset.task == "classify" else _detection_items(dataset, ctx)
        return Reading(labelbook=book, items=items, classes_declared=True)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_dataset(view, dest, ctx)


def _has_folder(root: Path, name: str) -> bool:
    """A folder ``name`` at the root or one level below (cheap: no recursion)."""
    return (root / name).is_dir() or any((p / name).is_dir() for p in root.iterdir() if p.is_dir())


def _detection_items(dataset: Dataset, ctx: ReadContext) -> Iterator[ImportItem]:
    for image, split in layout.dataset_images(dataset, ctx):
        item = ImportItem(path=relative_name(image, dataset.root), source=image, split=split)
        label = layout.label_for(image, dataset.root)
        if label is not None:
            item.origin = relative_name(label, dataset.root)
            try:
                lines = read_lines(label)
            except ParseError as err:
                ctx.problem(err)
                continue
            if any(line.strip() for line in lines):
                item.annotations = _annotations(lines, label, image, dataset, ctx)
        yield item


def _annotations(lines: list[str], label: Path, image: Path, dataset: Dataset, ctx: ReadContext) -> list[Annotation]:
    try:
        width, height = image_size(image)
    except ImageError:
        # Without the image there is no size to scale by; the importer reports the missing or
        # unreadable image itself, so the item goes on without its annotations.
        return []
    annotations: list[Annotation] = []
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        if tokens:
            try:
                annotations += parse_line(tokens, dataset.names, dataset.task, dataset.kpt_shape, width, height)
            except (AnnotationError, ParseError) as err:
                ctx.problem(err.with_location(label, f"line {number}"))
    return annotations


def _classify_items(dataset: Dataset, ctx: ReadContext) -> Iterator[ImportItem]:
    declared = set(dataset.names.values())
    folders = [(split, source) for split, source in dataset.sources if source.is_dir()]
    for split, folder in folders or layout.classify_splits(dataset.root):
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            if class_dir.name not in declared:
                ctx.problem(AnnotationError(f"class folder {class_dir.name!r} is not a declared class", path=class_dir))
                continue
            for image in iter_images(class_dir):
                tag = Annotation(label=class_dir.name, geometry=Tag())
                yield ImportItem(path=relative_name(image, dataset.root), source=image, split=split, annotations=[tag])


FORMAT = YoloFormat()
