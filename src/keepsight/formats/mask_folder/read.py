"""Reading a mask folder: pair images with masks up front (no decoding), decode masks lazily."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keepsight.errors import KeepsightError
from keepsight.formats.base import ImportItem, ReadContext, Reading, iter_images, relative_name
from keepsight.formats.mask_folder._class_map import ClassMap, class_map_from_option, find_class_map, load_class_map
from keepsight.formats.mask_folder._layout import MaskFinder, folder_info, is_mask_file, non_png_stems
from keepsight.formats.mask_folder._masks import binary_foreground, mask_threshold, read_mask, split_indexed, to_mask
from keepsight.model.annotation import Annotation, Split, Verdict
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

DEFAULT_CLASS = "defect"  # class of a binary mask with no class folder and no mask_class option


@dataclass
class _Plan:
    image: Path
    mask: Path | None
    split: Split | None
    tag: str | None
    verdict: Verdict | None
    class_map: ClassMap | None
    binary_class: str


class _ClassMaps:
    """Class map files found beside the masks, loaded once per file; a broken one is reported once."""

    def __init__(self, root: Path, ctx: ReadContext) -> None:
        self.root, self.ctx = root, ctx
        self._by_file: dict[Path, ClassMap | None] = {}
        self._by_folder: dict[Path, Path | None] = {}

    def broken(self, folder: Path) -> bool:
        found = self._find(folder)
        return found is not None and self._load(found) is None

    def get(self, folder: Path) -> ClassMap | None:
        found = self._find(folder)
        return self._load(found) if found is not None else None

    def _find(self, folder: Path) -> Path | None:
        if folder not in self._by_folder:
            self._by_folder[folder] = find_class_map(folder, self.root)
        return self._by_folder[folder]

    def _load(self, path: Path) -> ClassMap | None:
        if path not in self._by_file:
            try:
                self._by_file[path] = load_class_map(path)
            except KeepsightError as err:
                self._by_file[path] = None
                self.ctx.problem(err)
        return self._by_file[path]


def read_mask_folder(root: Path, ctx: ReadContext) -> Reading:
    threshold = mask_threshold(ctx)
    plans = _plan(root, ctx)
    book = LabelBook()
    for plan in plans:
        if plan.tag:
            # "Free"/"good" folders name the OK verdict: a tag, but not a defect class.
            book.add(plan.tag, kind="tag", is_defect=plan.verdict != "OK")
        for name in plan.class_map.classes() if plan.class_map else ():
            book.add(name, kind="mask")
    if ctx.option("mask_class", None):
        book.add(str(ctx.option("mask_class", None)), kind="mask")
    # Binary masks may be all background, so their class is only known once a mask is decoded.
    return Reading(book, _items(plans, root, ctx, threshold), classes_declared=False, total=len(plans))


def _plan(root: Path, ctx: ReadContext) -> list[_Plan]:
    """Every image with its mask, folders and class map, without decoding anything."""
    option_map = class_map_from_option(ctx.option("class_map", None))
    mask_class = ctx.option("mask_class", None)
    use_folders = bool(ctx.option("class_from_folder", True))
    files = list(iter_images(root))
    stems = non_png_stems(files)
    finder = MaskFinder(root, set(files).__contains__)
    maps = _ClassMaps(root, ctx)
    plans = []
    for image in files:
        if is_mask_file(image, root, stems):
            continue
        split, tag, verdict = folder_info(image, root)
        if not use_folders:
            tag = verdict = None
        mask = finder.find(image)
        if mask is not None and option_map is None and maps.broken(mask.parent):
            continue  # its class map is unreadable: reported once by _ClassMaps, skip its images
        class_map = option_map or (maps.get(mask.parent) if mask is not None else None)
        binary_class = str(mask_class or tag or DEFAULT_CLASS)
        plans.append(_Plan(image, mask, split, tag, verdict, class_map, binary_class))
    return plans


def _items(plans: list[_Plan], root: Path, ctx: ReadContext, threshold: int) -> Iterator[ImportItem]:
    for plan in plans:
        item = ImportItem(
            path=relative_name(plan.image, root), source=plan.image, split=plan.split, verdict=plan.verdict
        )
        if plan.tag:
            item.annotations.append(Annotation(label=plan.tag, geometry=Tag()))
        if plan.mask is not None:
            item.origin = relative_name(plan.mask, root)
            try:
                masks, size = _mask_annotations(plan, plan.mask, threshold)
            except KeepsightError as err:
                ctx.problem(err)
                continue  # the mask is this image's annotation: without it the sample would look clean
            item.annotations += masks
            item.expected_size = size
            if masks and item.verdict is None:
                item.verdict = "NG"
        yield item


def _mask_annotations(plan: _Plan, mask_path: Path, threshold: int) -> tuple[list[Annotation], tuple[int, int]]:
    array, mode = read_mask(mask_path)
    size = (int(array.shape[1]), int(array.shape[0]))
    if plan.class_map is not None:
        per_class = split_indexed(array, mode, plan.class_map, mask_path)
    else:
        per_class = {plan.binary_class: binary_foreground(array, mode, threshold, mask_path)}
    annotations = []
    for label, pixels in per_class.items():
        mask = to_mask(pixels)
        if mask is not None:
            annotations.append(Annotation(label=label, geometry=mask))
    return annotations, size
