"""Export to the Ultralytics layout (detect / segment / obb / pose) or to class folders (classify)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from keepsight.errors import DatasetError
from keepsight.formats._common.text import box_corners, enclosing_rotated_box, export_name
from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.yolo.lines import box_values, corner_values, format_line
from keepsight.formats.yolo.pose import kpt_shape, pose_objects, pose_values
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.convert import geometry_to_box, mask_to_polygons
from keepsight.model.geometry import Box, Mask, Polygon, Polyline, RotatedBox
from keepsight.model.labelbook import LabelBook

_WRITTEN_TASKS = ("detect", "segment", "obb", "pose", "classify")
_SPLITS = ("train", "val", "test")


def choose_task(kinds: Counter[str], option: str | None) -> str:
    """``yolo_task`` if given, else the richest task the annotations need."""
    if option is not None:
        if option not in _WRITTEN_TASKS:
            raise DatasetError(f"yolo_task {option!r} cannot be written; expected one of {', '.join(_WRITTEN_TASKS)}")
        return option
    if kinds["rotated_box"]:
        return "obb"
    if kinds["polygon"] or kinds["mask"]:
        return "segment"
    if kinds["points"]:
        return "pose"
    if any(kinds[k] for k in ("box", "polyline", "points")) or not kinds["tag"]:
        return "detect"
    return "classify"


def write(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    # Two passes: the task and the class ids depend on every annotation.
    kinds: Counter[str] = Counter()
    labels = dict.fromkeys(view.labelbook.names())  # an ordered set: declared classes first
    keypoint_sets: list[Annotation] = []
    for _, anns in view.samples():
        kinds.update(a.kind for a in anns)
        labels.update(dict.fromkeys(a.label for a in anns))
        keypoint_sets += [a for a in anns if a.kind == "points"]
    task = choose_task(kinds, ctx.option("yolo_task", None))
    if task == "classify":
        _write_classify(view, dest, ctx)
        return
    class_ids = {name: i for i, name in enumerate(labels)}
    shape = kpt_shape(keypoint_sets) if task == "pose" else None
    listed: dict[str, list[str]] = {split: [] for split in _SPLITS}
    used: dict[str, set[str]] = {split: set() for split in _SPLITS}  # names clash only within a split folder
    for sample, anns in view.samples():
        split = _split(sample, ctx)
        name = export_name(sample, used[split])
        view.copy_image(sample, dest / "images" / split / name)
        if shape is not None:
            lines = _pose_lines(anns, sample, class_ids, shape, ctx)
        else:
            lines = [line for a in anns for line in _lines(a, task, sample, class_ids, view.labelbook, ctx)]
        label = dest / "labels" / split / Path(name).with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        listed[split].append(f"./images/{split}/{name}")
    _write_config(dest, ctx.destination or dest, task, list(labels), listed, shape)


def _split(sample: Sample, ctx: WriteContext) -> str:
    if sample.split == "unassigned":
        ctx.loss("split unassigned -> train (YOLO trainers need a split)")
        return "train"
    return sample.split


def _write_config(
    dest: Path,
    final: Path,
    task: str,
    labels: list[str],
    listed: dict[str, list[str]],
    shape: tuple[int, int] | None,
) -> None:
    config: dict[str, object] = {"path": str(final.resolve())}
    for split, images in listed.items():
        if images:
            config[split] = f"images/{split}"
            (dest / f"{split}.txt").write_text("".join(f"{p}\n" for p in images), encoding="utf-8")
    header = ""
    if "val" not in config:
        # Ultralytics refuses a data.yaml without `val`: validate on the test images, or on the
        # training images when there are none. Readers give a folder listed twice its first
        # split in train, test, val order, so the samples keep their splits on re-import.
        stand_in = "test" if "test" in config else "train"
        config["val"] = f"images/{stand_in}"
        header = f"# No val split: val points to the {stand_in} images (Ultralytics requires a val entry).\n"
        config = {key: config[key] for key in ("path", "train", "val", "test") if key in config}
    # ``task`` is not an Ultralytics key; it tells readers how to take 8-coordinate lines.
    config["task"] = task
    if shape is not None:
        config["kpt_shape"] = list(shape)
    config["names"] = dict(enumerate(labels))
    dest.mkdir(parents=True, exist_ok=True)
    text = header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    (dest / "data.yaml").write_text(text, encoding="utf-8")


def _lines(
    ann: Annotation, task: str, sample: Sample, class_ids: dict[str, int], book: LabelBook, ctx: WriteContext
) -> list[str]:
    if ann.attributes:
        ctx.loss("attributes dropped (YOLO label lines hold none)")
    w, h = sample.width, sample.height
    if task == "detect":
        values = _detect(ann, w, h, ctx)
    elif task == "segment":
        values = _segment(ann, w, h, ctx)
    else:
        values = _obb(ann, w, h, book, ctx)
    return [format_line(class_ids[ann.label], v) for v in values]


def _pose_lines(
    anns: list[Annotation], sample: Sample, class_ids: dict[str, int], shape: tuple[int, int], ctx: WriteContext
) -> list[str]:
    if any(set(a.attributes) - ({"visibility"} if a.kind == "points" else set()) for a in anns):
        ctx.loss("attributes dropped (YOLO label lines hold none)")
    objects = pose_objects(anns, ctx)
    return [format_line(class_ids[o.label], pose_values(o, shape, sample.width, sample.height, ctx)) for o in objects]


def _dropped(ann: Annotation, task: str, ctx: WriteContext) -> list[list[float]]:
    ctx.loss(f"{ann.kind} dropped (YOLO {task} has no {ann.kind})")
    return []


def _detect(ann: Annotation, w: int, h: int, ctx: WriteContext) -> list[list[float]]:
    if ann.kind in ("tag", "points"):
        return _dropped(ann, "detect", ctx)
    if ann.kind != "box":
        ctx.loss(f"{ann.kind} -> box (YOLO detect holds axis-aligned boxes)")
    box = geometry_to_box(ann.geometry)
    return [box_values(box, w, h)] if box is not None else []


def _segment(ann: Annotation, w: int, h: int, ctx: WriteContext) -> list[list[float]]:
    geometry = ann.geometry
    if isinstance(geometry, Polygon):
        return [corner_values(geometry.array(), w, h)]
    if isinstance(geometry, (Box, RotatedBox)):
        ctx.loss(f"{ann.kind} -> polygon (YOLO segment reads back 4-corner polygons)")
        corners = geometry.corners() if isinstance(geometry, RotatedBox) else box_corners(geometry)
        return [corner_values(corners, w, h)]
    if isinstance(geometry, Mask):
        ctx.loss("mask -> polygon (YOLO segment keeps outer contours, no holes)")
        return [corner_values(p.array(), w, h) for p in mask_to_polygons(geometry)]
    if isinstance(geometry, Polyline) and len(geometry.points) >= 3:
        ctx.loss("polyline -> polygon (YOLO segment closes open lines)")
        return [corner_values(geometry.array(), w, h)]
    return _dropped(ann, "segment", ctx)


def _obb(ann: Annotation, w: int, h: int, book: LabelBook, ctx: WriteContext) -> list[list[float]]:
    geometry = ann.geometry
    if isinstance(geometry, RotatedBox):
        spec = book.classes.get(ann.label)
        if spec is not None and spec.orientation == "directed":
            ctx.loss(
                "rotated_box heading -> 180-degree symmetric OBB (Ultralytics ignores the direction of "
                "'directed' classes)"
            )
        return [corner_values(geometry.corners(), w, h)]
    if isinstance(geometry, Box):
        ctx.loss("box -> rotated_box (YOLO OBB reads back rotated boxes at angle 0)")
        return [corner_values(box_corners(geometry), w, h)]
    if ann.kind in ("polygon", "polyline", "mask"):
        rotated = enclosing_rotated_box(geometry)
        ctx.loss(f"{ann.kind} -> rotated_box (minimum-area rectangle)")
        return [corner_values(rotated.corners(), w, h)] if rotated is not None else []
    return _dropped(ann, "obb", ctx)


def _write_classify(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    used: dict[str, set[str]] = {}
    for sample, anns in view.samples():
        tags = [a.label for a in anns if a.kind == "tag"]
        regions = len(anns) - len(tags)
        if regions:
            ctx.loss("regions dropped (YOLO classify holds one class per image)", regions)
        if not tags:
            ctx.loss("images without a tag not written (YOLO classify needs a class folder)")
            continue
        if len(tags) > 1:
            ctx.loss("extra tags dropped (YOLO classify holds one class per image)", len(tags) - 1)
        folder = Path(_split(sample, ctx)) / tags[0]
        view.copy_image(sample, dest / folder / export_name(sample, used.setdefault(str(folder), set())))
