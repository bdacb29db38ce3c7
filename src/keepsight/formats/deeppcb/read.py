"""Reading DeepPCB: the folder walk, the split lists and the per-image box files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats.base import IMAGE_EXTENSIONS, ImportItem, ReadContext, Reading, relative_name, safe_join
from keepsight.model.annotation import Annotation, Split
from keepsight.model.geometry import Box
from keepsight.model.labelbook import LabelBook

# Class ids of the authors' annotation tool (datadef.h); 0 means none and is never used.
CLASSES = {1: "open", 2: "short", 3: "mousebite", 4: "spur", 5: "copper", 6: "pin-hole"}
SPLIT_LISTS = {"trainval.txt": "train", "test.txt": "test"}
NOT_SUFFIX = "_not"
_IMAGE_NAME = re.compile(r"^(?P<pair>.+)_(?P<role>test|temp)$")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass
class _Entry:
    image: Path
    group: str
    board: str
    pair: str
    role: str  # "test" or "template"

    @property
    def key(self) -> str:
        return f"{self.group}/{self.board}/{self.pair}"


def group_dirs(root: Path) -> list[Path]:
    """group*/ folders holding a <board>_not/ annotation folder."""
    return sorted(g for g in root.glob("group*") if g.is_dir() and any(g.glob(f"*{NOT_SUFFIX}")))


def labelbook() -> LabelBook:
    book = LabelBook()
    for name in CLASSES.values():
        book.add(name, kind="box", is_defect=True)
    return book


def read_deeppcb(root: Path, ctx: ReadContext) -> Reading:
    splits = _split_lists(root, ctx)
    entries = _walk(root)
    on_disk = {e.key for e in entries if e.role == "test"}
    # Pairs the lists name but whose test image is absent: yielded so the importer reports them missing.
    for key in sorted(set(splits) - on_disk):
        group, board, pair = key.split("/")
        entries.append(_Entry(root / group / board / f"{pair}_test.jpg", group, board, pair, "test"))
    return Reading(labelbook(), _items(entries, splits, root, ctx), classes_declared=True, total=len(entries))


def _walk(root: Path) -> list[_Entry]:
    entries = []
    for group in group_dirs(root):
        for board in sorted(b for b in group.iterdir() if b.is_dir() and not b.name.endswith(NOT_SUFFIX)):
            for image in sorted(board.iterdir()):
                match = _IMAGE_NAME.match(image.stem)
                if match and image.suffix.lower() in IMAGE_EXTENSIONS and image.is_file():
                    role = "test" if match["role"] == "test" else "template"
                    entries.append(_Entry(image, group.name, board.name, match["pair"], role))
    return entries


def _split_lists(root: Path, ctx: ReadContext) -> dict[str, Split]:
    """``group/board/pair`` -> split, from trainval.txt and test.txt (lines ``<image> <annotation>``)."""
    splits: dict[str, Split] = {}
    for name, split in SPLIT_LISTS.items():
        path = root / name
        if not path.is_file():
            continue
        for number, raw in enumerate(_read_text(path).splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                key = _list_key(raw.split()[0], root, path, number)
                if key in splits and splits[key] != split:
                    raise AnnotationError(
                        f"pair {key} is also listed in the {splits[key]} list", path=path, element=f"line {number}"
                    )
            except KeepsightError as err:
                ctx.problem(err)
                continue
            splits[key] = split  # type: ignore[assignment]
    return splits


def _list_key(image: str, root: Path, path: Path, number: int) -> str:
    """``group20085/20085/20085000.jpg`` -> ``group20085/20085/20085000`` (checked to stay in root)."""
    parts = safe_join(Path(), image, origin=path, element=f"line {number}").parts
    if len(parts) != 3 or Path(parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
        raise ParseError(
            f"expected 'groupXXXXX/XXXXX/NNNNNNNN.jpg <annotation .txt>', got {image!r}",
            path=path,
            element=f"line {number}",
        )
    return f"{parts[0]}/{parts[1]}/{Path(parts[2]).stem}"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"cannot read: {exc}", path=path) from None


def _items(entries: list[_Entry], splits: dict[str, Split], root: Path, ctx: ReadContext) -> Iterator[ImportItem]:
    for entry in entries:
        item = ImportItem(
            path=relative_name(entry.image, root),
            source=entry.image,
            split=splits.get(entry.key),
            metadata={"role": entry.role, "group": entry.group, "board": entry.board, "pair": entry.pair},
            element=f"pair {entry.pair}",
        )
        if entry.role == "template":
            item.verdict = "OK"  # the defect-free reference image of the pair
        else:
            labels = root / entry.group / f"{entry.board}{NOT_SUFFIX}" / f"{entry.pair}.txt"
            if labels.is_file():
                try:
                    item.annotations = _boxes(labels, ctx)
                except KeepsightError as err:
                    ctx.problem(err)  # the file itself is unreadable: skip the image
                    continue
                item.origin = relative_name(labels, root)
                item.verdict = "NG" if item.annotations else "OK"
        yield item


def _boxes(path: Path, ctx: ReadContext) -> list[Annotation]:
    """``x1 y1 x2 y2 type`` lines; a bad line is reported and skipped (skip-bad) or raised."""
    boxes = []
    for number, raw in enumerate(_read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            boxes.append(_box_line(raw, path, f"line {number}"))
        except KeepsightError as err:
            ctx.problem(err)
    return boxes


def _box_line(raw: str, path: Path, element: str) -> Annotation:
    fields = [f for f in _SEPARATORS.split(raw.strip()) if f]
    if len(fields) != 5:
        raise ParseError(f"expected 'x1 y1 x2 y2 type', got {raw.strip()!r}", path=path, element=element)
    try:
        x1, y1, x2, y2 = (float(v) for v in fields[:4])
        class_id = int(fields[4])
    except ValueError:
        raise ParseError(
            f"expected four numbers and an integer class id, got {raw.strip()!r}", path=path, element=element
        ) from None
    if class_id not in CLASSES:
        raise AnnotationError(
            f"class id {class_id} is not one of DeepPCB's {sorted(CLASSES)} ({', '.join(CLASSES.values())})",
            path=path,
            element=element,
        )
    try:
        return Annotation(label=CLASSES[class_id], geometry=Box(x1, y1, x2, y2))
    except AnnotationError as exc:
        raise AnnotationError(exc.reason, path=path, element=element) from None
