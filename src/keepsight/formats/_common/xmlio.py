"""Helpers shared by the ``voc``, ``cvat`` and ``labelme`` adapters.

* :func:`parse_xml` / :func:`xml_error`: XML through defusedxml, errors as ParseError with the line;
* :func:`fmt_num`, :func:`parse_scalar`, :func:`format_scalar`: numbers and attribute values as text;
* :class:`ImageFinder`: find an image by file name in a folder or anywhere under the root,
  tolerating a different letter case or a missing extension (NEU-DET writes ``patches_104``).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from keepsight.errors import AnnotationError, ParseError
from keepsight.formats.base import IMAGE_EXTENSIONS, iter_images

# Preferred order when several images share a stem (``a.jpg`` and ``a.png``).
_EXT_ORDER = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_INT = re.compile(r"-?(0|[1-9]\d*)")
_FLOAT = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")


def xml_error(exc: XmlParseError, path: Path) -> ParseError:
    line = exc.position[0] if getattr(exc, "position", None) else None
    return ParseError(f"malformed XML: {exc}", path=path, element=f"line {line}" if line else None)


def parse_xml(path: Path) -> Element:
    """The root element of an XML file; ParseError (with the line) when it is malformed or unsafe."""
    try:
        return SafeET.parse(path).getroot()
    except XmlParseError as exc:
        raise xml_error(exc, path) from None
    except DefusedXmlException as exc:
        raise ParseError(f"refused unsafe XML construct ({type(exc).__name__})", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def iterparse_xml(path: Path) -> Generator[tuple[str, Element], None, None]:
    """Streamed ``(event, element)`` pairs ("start"/"end") with the same error mapping as :func:`parse_xml`.

    The file stays open until the generator is exhausted or closed (use ``contextlib.closing``).
    """
    with path.open("rb") as stream:
        try:
            yield from SafeET.iterparse(stream, events=("start", "end"))
        except XmlParseError as exc:
            raise xml_error(exc, path) from None
        except DefusedXmlException as exc:
            raise ParseError(f"refused unsafe XML construct ({type(exc).__name__})", path=path) from None


def fmt_num(value: float) -> str:
    """A coordinate as short exact text: ``12`` for integral values, the shortest repr otherwise."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def parse_number(text: str | None, what: str) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        raise AnnotationError(f"{what} is not a number: {text!r}") from None


def parse_int(text: str | None, what: str) -> int:
    """An integer written as ``12`` or ``12.0``; AnnotationError for anything else (including NaN)."""
    value = parse_number(text, what)
    if not value.is_integer():
        raise AnnotationError(f"{what} is not an integer: {text!r}")
    return int(value)


def parse_scalar(text: str | None) -> bool | int | float | str:
    """An untyped attribute value: ``true``/``false`` -> bool, canonical numbers -> int/float, else text.

    ``0003`` stays text (a leading zero means it is a code, not a number).
    """
    value = (text or "").strip()
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def format_scalar(value: Any) -> str | None:
    """Attribute value as text, or None when it is not a scalar (lists, dicts...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return None


def reads_back(text: str, value: Any) -> bool:
    """Whether :func:`parse_scalar` gives ``value`` back from ``text`` (same type, same value)."""
    parsed = parse_scalar(text)
    return type(parsed) is type(value) and parsed == value


class ImageFinder:
    """Finds image files by name, listing each folder (and the whole root) at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[Path, tuple[dict[str, Path], dict[str, list[Path]]]] = {}
        self._everywhere: tuple[dict[str, list[Path]], dict[str, list[Path]]] | None = None

    @staticmethod
    def _stem_key(name: str) -> str:
        path = Path(name)
        return (path.stem if path.suffix.lower() in IMAGE_EXTENSIONS else path.name).lower()

    @staticmethod
    def _by_ext(paths: list[Path]) -> list[Path]:
        def rank(p: Path) -> int:
            suffix = p.suffix.lower()
            return _EXT_ORDER.index(suffix) if suffix in _EXT_ORDER else len(_EXT_ORDER)

        return sorted(paths, key=lambda p: (rank(p), p.name))

    def _listing(self, folder: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
        if folder not in self._folders:
            names: dict[str, Path] = {}
            stems: dict[str, list[Path]] = {}
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
                        names[path.name.lower()] = path
                        stems.setdefault(path.stem.lower(), []).append(path)
            self._folders[folder] = (names, stems)
        return self._folders[folder]

    def in_folder(self, folder: Path, relative: str) -> Path | None:
        """``folder/relative`` matched case-insensitively, else an image with the same stem there."""
        parts = relative.replace("\\", "/").split("/")
        names, stems = self._listing(folder.joinpath(*parts[:-1]))
        name = parts[-1]
        if name.lower() in names:
            return names[name.lower()]
        same_stem = stems.get(self._stem_key(name), [])
        return self._by_ext(same_stem)[0] if same_stem else None

    def anywhere(self, name: str, *, origin: Path, element: str | None = None) -> Path | None:
        """The one image under the root with this file name (or stem); AnnotationError if several."""
        if self._everywhere is None:
            names: dict[str, list[Path]] = {}
            stems: dict[str, list[Path]] = {}
            for path in iter_images(self.root):
                names.setdefault(path.name.lower(), []).append(path)
                stems.setdefault(path.stem.lower(), []).append(path)
            self._everywhere = (names, stems)
        names, stems = self._everywhere
        base = name.replace("\\", "/").split("/")[-1]
        found = names.get(base.lower()) or stems.get(self._stem_key(base), [])
        if len(found) > 1:
            listed = ", ".join(p.relative_to(self.root).as_posix() for p in found[:3])
            raise AnnotationError(
                f"image {base!r} is ambiguous: several files under the root match ({listed})",
                path=origin,
                element=element,
            )
        return found[0] if found else None
