"""DOTA oriented boxes: quads in absolute pixels, one labelTxt file per image.

Layout (read and written; the flat root folders hold samples without a split)::

    root/train/images/P0001.png       root/images/P0001.png
    root/train/labelTxt/P0001.txt     root/labelTxt/P0001.txt
    root/val/...  root/test/...

labelTxt/P0001.txt::

    imagesource:GoogleEarth                        optional header -> sample metadata
    gsd:0.146343590398                             (gsd as a number, None for "null")
    x1 y1 x2 y2 x3 y3 x4 y4 category difficult     -> rotated box, attribute difficult=True when 1

Corner 0 is the first point and the box heads from corner 0 to corner 1, as in keepsight, so
rotated boxes keep their direction. ``difficult`` is only set on difficult objects (absent
means not difficult). The category list is not declared: classes come from the lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from keepsight.errors import AnnotationError, ParseError
from keepsight.formats._common.text import folder_split, number, read_lines
from keepsight.formats.base import (
    IMAGE_EXTENSIONS,
    Detection,
    ExportView,
    ImportItem,
    ReadContext,
    Reading,
    WriteContext,
    relative_name,
)
from keepsight.formats.dota.lines import parse_header, parse_object
from keepsight.formats.dota.write import write as write_dataset
from keepsight.model.annotation import Annotation, Split
from keepsight.model.labelbook import LabelBook

NAME = "dota"
_PEEK_BYTES = 4096


def label_folders(root: Path) -> list[tuple[Split | None, Path]]:
    """The flat ``labelTxt/`` (no split) and every ``<folder>/labelTxt/`` (split from the folder name)."""
    found: list[tuple[Split | None, Path]] = []
    if (root / "labelTxt").is_dir():
        found.append((None, root / "labelTxt"))
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if (sub / "labelTxt").is_dir():
            found.append((folder_split(sub.name), sub / "labelTxt"))
    return found


def _looks_like_dota(path: Path) -> bool | None:
    """True for a DOTA object line, None when the file holds none (empty or header only)."""
    with path.open("rb") as f:
        head = f.read(_PEEK_BYTES).decode("utf-8", errors="replace")
    for line in head.splitlines()[:10]:
        tokens = line.split()
        if tokens and parse_header(line) is None:
            try:
                coordinates = [number(t) for t in tokens[:8]]
            except (ParseError, AnnotationError):
                return False
            return len(coordinates) == 8 and len(tokens) >= 9
    return None


class DotaFormat:
    name = NAME
    description = "DOTA oriented boxes (images/ + labelTxt/ quads, per split or flat)"

    def detect(self, path: Path) -> Detection:
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        folders = label_folders(path)
        if not folders:
            return Detection.no(NAME, "no labelTxt/ folder (flat layout) and no <split>/labelTxt/ folders")
        sample = next((f for _, folder in folders for f in folder.glob("*.txt")), None)
        if sample is None:
            return Detection(NAME, 0.5, ["labelTxt/ folders found, but they hold no .txt file"])
        verdict = _looks_like_dota(sample)
        if verdict is False:
            return Detection(NAME, 0.1, [f"{sample.name} does not hold 'x1 y1 ... x4 y4 category difficult' lines"])
        return Detection(NAME, 0.85 if verdict else 0.6, [f"{len(folders)} labelTxt/ folder(s)"])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        # DOTA declares no class list: the importer collects the categories from the lines.
        return Reading(labelbook=LabelBook(), items=self._items(path, ctx), classes_declared=False)

    def _items(self, root: Path, ctx: ReadContext) -> Iterator[ImportItem]:
        for split, labels_dir in label_folders(root):
            images_dir = labels_dir.parent / "images"
            images = {p.stem: p for p in _images(images_dir)}
            labels = {p.stem: p for p in labels_dir.glob("*.txt") if p.is_file()}
            for stem in sorted(images.keys() | labels.keys()):
                image = images.get(stem, images_dir / f"{stem}.png")  # missing images: the importer reports them
                item = ImportItem(path=relative_name(image, root), source=image, split=split)
                if stem in labels:
                    item.origin = relative_name(labels[stem], root)
                    try:
                        lines = read_lines(labels[stem])
                    except ParseError as err:
                        ctx.problem(err)
                        continue
                    _fill(item, lines, labels[stem], ctx)
                yield item

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_dataset(view, dest, ctx)


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _fill(item: ImportItem, lines: list[str], label: Path, ctx: ReadContext) -> None:
    for number_, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            continue
        header = parse_header(line)
        if header is not None:
            item.metadata[header[0]] = header[1]
            continue
        try:
            box, category, difficult = parse_object(tokens)
            attributes = {"difficult": True} if difficult else {}
            item.annotations.append(Annotation(label=category, geometry=box, attributes=attributes))
        except (AnnotationError, ParseError) as err:
            ctx.problem(err.with_location(label, f"line {number_}"))


FORMAT = DotaFormat()
