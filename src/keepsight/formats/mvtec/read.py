"""Reading MVTec AD category folders (and datumaro's ``default/`` variant)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keepsight.errors import KeepsightError
from keepsight.formats.base import IMAGE_EXTENSIONS, ImportItem, ReadContext, Reading, relative_name
from keepsight.formats.mask_folder._masks import binary_foreground, mask_threshold, read_mask, to_mask
from keepsight.model.annotation import Annotation, Split, normalize_split
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

GOOD = "good"
GROUND_TRUTH = "ground_truth"
MASK_SUFFIX = "_mask"
SPLIT_DIRS = ("train", "test", "val", "validation", "default")


def split_dirs(category: Path) -> list[Path]:
    """The split folders of a category (train/, test/, datumaro's default/...) that hold folders."""
    found = []
    for name in SPLIT_DIRS:
        folder = category / name
        if folder.is_dir() and any(p.is_dir() for p in folder.iterdir()):
            found.append(folder)
    return found


def is_category(folder: Path) -> bool:
    """Split folders with class sub-folders, plus ground_truth/ or a good/ class."""
    splits = split_dirs(folder)
    return bool(splits) and ((folder / GROUND_TRUTH).is_dir() or any((s / GOOD).is_dir() for s in splits))


def categories(root: Path) -> list[Path]:
    """``root`` itself when it is a category, else its category sub-folders."""
    if is_category(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_category(p))


@dataclass
class _Entry:
    image: Path
    category: str
    split: Split
    defect: str | None  # None for good
    mask: Path | None


def read_mvtec(root: Path, ctx: ReadContext) -> Reading:
    threshold = mask_threshold(ctx)
    entries: list[_Entry] = []
    book = LabelBook()
    for category in categories(root):
        for split_dir in split_dirs(category):
            for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                entries += _class_entries(category, split_dir, class_dir, book)
    return Reading(book, _items(entries, root, ctx, threshold), classes_declared=True, total=len(entries))


def _class_entries(category: Path, split_dir: Path, class_dir: Path, book: LabelBook) -> list[_Entry]:
    defect = None if class_dir.name == GOOD else class_dir.name
    mask_dir = category / GROUND_TRUTH / class_dir.name
    if defect is not None:
        book.add(defect, kind="tag", is_defect=True)
        if mask_dir.is_dir():
            book.add(defect, kind="mask")
    split = normalize_split(split_dir.name)
    images = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    return [
        _Entry(image, category.name, split, defect, _find_mask(mask_dir, image.stem) if defect else None)
        for image in images
    ]


def _find_mask(mask_dir: Path, stem: str) -> Path | None:
    for name in (f"{stem}{MASK_SUFFIX}.png", f"{stem}.png"):
        if (mask_dir / name).is_file():
            return mask_dir / name
    return None


def _items(entries: list[_Entry], root: Path, ctx: ReadContext, threshold: int) -> Iterator[ImportItem]:
    for entry in entries:
        item = ImportItem(
            path=relative_name(entry.image, root),
            source=entry.image,
            split=entry.split,
            verdict="OK" if entry.defect is None else "NG",
            metadata={"category": entry.category},
        )
        if entry.defect is not None:
            item.annotations.append(Annotation(label=entry.defect, geometry=Tag()))
        if entry.mask is not None and entry.defect is not None:
            item.origin = relative_name(entry.mask, root)
            try:
                array, mode = read_mask(entry.mask)
                mask = to_mask(binary_foreground(array, mode, threshold, entry.mask))
            except KeepsightError as err:
                ctx.problem(err)
                continue  # a defect image without its mask would look unlocalised: skip it whole
            item.expected_size = (int(array.shape[1]), int(array.shape[0]))
            if mask is not None:
                item.annotations.append(Annotation(label=entry.defect, geometry=mask))
        yield item
