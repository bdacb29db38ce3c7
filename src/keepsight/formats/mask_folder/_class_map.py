"""Class maps of indexed masks: the ``class_map`` option, classes.txt, labelmap.txt, labelmap.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from keepsight.errors import DatasetError, ParseError

CLASS_MAP_FILES = ("classes.txt", "labelmap.txt", "labelmap.csv")
BACKGROUND_NAMES = frozenset({"background", "_background_", "__background__", "bg"})

Colour = tuple[int, int, int]


@dataclass
class ClassMap:
    """Mask value -> class name (0 is background), plus colours for RGB masks when known."""

    names: dict[int, str]
    colours: dict[Colour, int] = field(default_factory=dict)
    source: str = "class_map option"

    def classes(self) -> list[str]:
        return [name for index, name in sorted(self.names.items()) if index != 0]


def class_map_from_option(value: object) -> ClassMap | None:
    """The ``class_map`` option ``{index: name}`` (keys may be strings, as from a CLI)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DatasetError(f"option class_map must be a mapping {{index: name}}, got {type(value).__name__}")
    names: dict[int, str] = {}
    for key, name in value.items():
        try:
            names[int(key)] = str(name)
        except (TypeError, ValueError):
            raise DatasetError(f"option class_map has a key that is not an integer: {key!r}") from None
    names.pop(0, None)
    return ClassMap(names)


def find_class_map(folder: Path, root: Path) -> Path | None:
    """The nearest class map file in ``folder`` or a parent folder, up to ``root``."""
    current = folder
    while True:
        for name in CLASS_MAP_FILES:
            candidate = current / name
            if candidate.is_file():
                return candidate
        if current == root or root not in current.parents:
            return None
        current = current.parent


def load_class_map(path: Path) -> ClassMap:
    """Parse classes.txt (one name per line), labelmap.txt (``name:r,g,b::``) or labelmap.csv.

    Line order is the mask value. When the first name is a background name (``background``,
    ``_background_``...), it is value 0; otherwise the first name is value 1.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"cannot read class map: {exc}", path=path) from None
    if path.suffix.lower() == ".csv":
        entries = _csv_entries(text, path)
    else:
        entries = _text_entries(text, path, with_colour=path.name.lower() == "labelmap.txt")
    if not entries:
        raise ParseError("class map lists no classes", path=path)
    start = 0 if entries[0][0].lower() in BACKGROUND_NAMES else 1
    names = {start + i: name for i, (name, _) in enumerate(entries)}
    colours = {colour: start + i for i, (_, colour) in enumerate(entries) if colour is not None}
    names.pop(0, None)
    return ClassMap(names, colours, source=path.name)


def _text_entries(text: str, path: Path, *, with_colour: bool) -> list[tuple[str, Colour | None]]:
    entries: list[tuple[str, Colour | None]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "__ignore__":
            continue
        if not with_colour:
            entries.append((line, None))
            continue
        name, _, rest = line.partition(":")
        colour_text = rest.split(":", 1)[0].strip()
        entries.append((name.strip(), _parse_colour(colour_text.split(","), path, number) if colour_text else None))
    return entries


def _csv_entries(text: str, path: Path) -> list[tuple[str, Colour | None]]:
    rows = list(csv.reader(text.splitlines()))
    if not rows or rows[0][:1] != ["name"]:
        raise ParseError("labelmap.csv needs a header starting with 'name' (name,r,g,b)", path=path, element="line 1")
    has_colour = rows[0][1:4] == ["r", "g", "b"]
    entries: list[tuple[str, Colour | None]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        entries.append((row[0].strip(), _parse_colour(row[1:4], path, number) if has_colour else None))
    return entries


def _parse_colour(parts: list[str], path: Path, line: int) -> Colour:
    try:
        r, g, b = (int(p) for p in parts)
    except ValueError:
        raise ParseError(
            f"colour must be three integers r,g,b, got {','.join(parts)!r}", path=path, element=f"line {line}"
        ) from None
    return (r, g, b)
