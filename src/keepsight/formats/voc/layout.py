"""Where the parts of a Pascal VOC tree are: annotation folders, image folders, lists, label map."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats._common.xmlio import parse_xml
from keepsight.formats.base import ReadContext
from keepsight.model.annotation import Split, split_or_none

ANNOTATIONS = "annotations"
IMAGE_FOLDERS = ("jpegimages", "images")  # after the prefix of the annotation folder, e.g. Validation_
SPLIT_FOLDERS = ("Main", "Segmentation")  # under ImageSets/
SEARCH_DEPTH = 3  # how deep below the given folder to look for annotation folders
PEEK_FILES = 3  # XML files parsed per folder to recognise VOC


@dataclass
class VocTree:
    """One VOC tree: an annotation folder and what belongs with it."""

    base: Path  # the folder holding Annotations/, ImageSets/, labelmap.txt...
    ann_dir: Path
    image_dirs: list[Path]
    flat: bool = False  # XML files next to their images (LabelImg, Roboflow)
    split: Split | None = None  # a flat folder named train/valid/test
    extras: dict[str, Path] = field(default_factory=dict)  # lower-case name -> child folder of base

    def child(self, name: str) -> Path | None:
        return self.extras.get(name.lower())


def xml_kind(root: Element) -> str | None:
    """'voc', 'labelme_xml' (the old MIT LabelMe web tool, same root tag) or None."""
    if root.tag != "annotation":
        return None
    if any(root.find(tag) is not None for tag in ("imagesize", "object/polygon", "object/segm")):
        return "labelme_xml"
    if root.find("size") is not None or root.find("segmented") is not None or root.find("object/bndbox") is not None:
        return "voc"
    return None


def _peek_kind(folder: Path, recursive: bool) -> str | None:
    files = folder.rglob("*.xml") if recursive else folder.glob("*.xml")
    kinds: list[str | None] = []
    for path in files:
        if len(kinds) == PEEK_FILES:
            break
        if path.is_file() and not path.name.startswith("."):
            try:
                kinds.append(xml_kind(parse_xml(path)))
            except ParseError:
                kinds.append(None)
    for kind in ("voc", "labelme_xml"):
        if kind in kinds:
            return kind
    return None


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _make_tree(ann_dir: Path) -> VocTree:
    base = ann_dir.parent
    prefix = ann_dir.name.lower()[: -len(ANNOTATIONS)]
    extras = {p.name.lower(): p for p in _subdirs(base)}
    image_dirs = [extras[prefix + name] for name in IMAGE_FOLDERS if prefix + name in extras]
    return VocTree(base=base, ann_dir=ann_dir, image_dirs=image_dirs, extras=extras)


def _flat_tree(folder: Path, top: Path) -> VocTree:
    split = split_or_none(folder.name) if folder != top else None
    return VocTree(base=folder, ann_dir=folder, image_dirs=[folder], flat=True, split=split)


def find_trees(top: Path, notes: list[str] | None = None) -> list[VocTree]:
    """VOC trees under ``top``: folders named ``*Annotations`` (any case) holding VOC XML, else
    ``top`` and its sub-folders holding VOC XML next to images. ``notes`` collects why not."""
    notes = notes if notes is not None else []
    trees: list[VocTree] = []
    level = [top]
    for _ in range(SEARCH_DEPTH):
        next_level = []
        for folder in level:
            for sub in _subdirs(folder):
                if sub.name.lower().endswith(ANNOTATIONS):
                    kind = _peek_kind(sub, recursive=True)
                    if kind == "voc":
                        trees.append(_make_tree(sub))
                        continue
                    if kind == "labelme_xml":
                        notes.append(f"{sub.name}/ holds old LabelMe XML (<imagesize>, <polygon>), not VOC")
                next_level.append(sub)
        level = next_level
    if trees:
        return trees
    for folder in [top, *_subdirs(top)]:
        kind = _peek_kind(folder, recursive=False)
        if kind == "voc":
            trees.append(_flat_tree(folder, top))
        elif kind == "labelme_xml":
            notes.append(f"{folder.name}/ holds old LabelMe XML, not VOC")
    return trees


def read_labelmap(path: Path) -> list[tuple[str, tuple[int, int, int] | None, list[str], list[str]]]:
    """``name:r,g,b:parts:actions`` lines (datumaro/CVAT ``labelmap.txt``); a bare name is accepted too."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.rsplit(":", 3) if line.count(":") >= 3 else [line, "", "", ""]
        name, colour_text, parts, actions = (f.strip() for f in fields)
        colour = None
        if colour_text:
            try:
                r, g, b = (int(c) for c in colour_text.split(","))
            except ValueError:
                raise ParseError(
                    f"colour {colour_text!r} is not 'r,g,b'", path=path, element=f"line {number}"
                ) from None
            colour = (r, g, b)
        entries.append((name, colour, _names(parts), _names(actions)))
    return entries


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def read_splits(tree: VocTree, ctx: ReadContext) -> dict[str, Split]:
    """Item id -> split from ``ImageSets/{Main,Segmentation}/<split>.txt``.

    Per-class lists (``cat_train.txt``) and unknown names are ignored; ``trainval`` counts as
    train only for ids that no train/val/test list names. An id in two different lists is a problem.
    """
    sets_dir = tree.child("ImageSets")
    if sets_dir is None:
        return {}
    found: dict[str, tuple[Split, Path]] = {}
    trainval: set[str] = set()
    for task in SPLIT_FOLDERS:
        folder = next((p for p in _subdirs(sets_dir) if p.name.lower() == task.lower()), None)
        for path in sorted(folder.glob("*.txt")) if folder else []:
            stem = path.stem.lower()
            if stem == "trainval":
                trainval.update(_list_ids(path))
                continue
            split = split_or_none(stem)
            if split is None:
                continue
            for item_id in _list_ids(path):
                previous = found.setdefault(item_id, (split, path))
                if previous[0] != split:
                    _conflict(ctx, item_id, previous[1], path)
    splits = {item_id: split for item_id, (split, _) in found.items()}
    for item_id in trainval:
        splits.setdefault(item_id, "train")
    return splits


def _list_ids(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _conflict(ctx: ReadContext, item_id: str, first: Path, second: Path) -> None:
    err: KeepsightError = AnnotationError(
        f"{item_id!r} is listed in both {first.name} and {second.name}; keeping {first.name}",
        path=second,
        element=f"id {item_id}",
    )
    ctx.problem(err)
