"""Reading LabelMe JSON files (and the images no JSON names) under a root."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from keepsight.errors import AnnotationError, KeepsightError, ParseError, UnsafePathError
from keepsight.formats._common.xmlio import ImageFinder
from keepsight.formats.base import ImportItem, ReadContext, Reading, iter_images, relative_name, safe_join
from keepsight.model import Annotation, LabelBook, Tag

from .shapes import shape_to_annotation

_PEEK = 1 << 16
_MAGIC = {b"\xff\xd8": ".jpg", b"\x89PNG": ".png", b"BM": ".bmp", b"II*\x00": ".tif", b"MM\x00*": ".tif"}


def json_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.json")):
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts):
            yield path


def looks_like_labelme(path: Path) -> bool:
    """Cheap check on the head (and tail) of the file: a JSON object with ``shapes`` and ``imagePath``."""
    with path.open("rb") as stream:
        head = stream.read(_PEEK)
        stream.seek(max(path.stat().st_size - 4096, len(head)))
        tail = stream.read()
    return (
        head.lstrip().startswith(b"{")
        and b'"shapes"' in head
        and (b'"imagePath"' in head + tail or b'"imageHeight"' in head + tail)
    )


def is_labelme(data: Any) -> bool:
    return isinstance(data, dict) and "shapes" in data and ("imagePath" in data or "imageData" in data)


def read_labelme(path: Path, ctx: ReadContext) -> Reading:
    root = path.parent if path.is_file() else path
    files = [path] if path.is_file() else json_files(root)
    items = _LabelmeItems(root, ctx).items(files, with_unannotated=not path.is_file())
    return Reading(labelbook=LabelBook(), items=items, classes_declared=False)


class _LabelmeItems:
    def __init__(self, root: Path, ctx: ReadContext) -> None:
        self.root = root
        self.ctx = ctx
        self.finder = ImageFinder(root)
        self.claimed: set[Path] = set()

    def items(self, files: Iterator[Path] | list[Path], *, with_unannotated: bool) -> Iterator[ImportItem]:
        for file in files:
            item = self._item(file)
            if item is not None:
                yield item
        if with_unannotated:
            for image in iter_images(self.root):
                if image not in self.claimed:
                    yield ImportItem(path=relative_name(image, self.root), source=image)

    def _item(self, file: Path) -> ImportItem | None:
        try:
            data = json.loads(file.read_bytes())
        except json.JSONDecodeError as exc:
            self.ctx.problem(ParseError(f"malformed JSON: {exc.msg}", path=file, element=f"line {exc.lineno}"))
            return None
        except UnicodeDecodeError:
            self.ctx.problem(ParseError("not UTF-8 JSON text", path=file))
            return None
        if not is_labelme(data):
            return None  # another JSON (metadata, COCO...): not ours
        try:
            name, source = self._image(file, data)
            size = _size(data)
            flags = data.get("flags") or {}
            if not isinstance(data["shapes"], list):
                raise AnnotationError("shapes must be a list", element="shapes")
            if not isinstance(flags, dict):
                raise AnnotationError("flags must be an object of name: true/false", element="flags")
        except KeepsightError as err:
            self.ctx.problem(err.with_location(file, "imagePath"))
            return None
        item = ImportItem(path=name, source=source, expected_size=size, origin=relative_name(file, self.root))
        for index, shape in enumerate(data["shapes"]):
            try:
                item.annotations.append(shape_to_annotation(shape, size))
            except AnnotationError as err:
                self.ctx.problem(err.with_location(file, f"shapes[{index}]"))
        item.annotations.extend(Annotation(str(k), Tag()) for k, v in flags.items() if v is True)
        return item

    def _image(self, file: Path, data: dict[str, Any]) -> tuple[str, Path | bytes]:
        """(sample path, source): imagePath beside the JSON, the same file name elsewhere, imageData."""
        image_path = data.get("imagePath")
        embedded = data.get("imageData")
        if image_path is not None and not isinstance(image_path, str):
            raise AnnotationError(f"imagePath must be a string, got {type(image_path).__name__}")
        folder = file.parent.relative_to(self.root).as_posix()
        if image_path:
            candidate = self._beside(file, folder, image_path)
        else:
            candidate = self.root / folder / (file.stem + _extension(embedded))
        if candidate.is_file():
            return self._claim(candidate)
        found = self.finder.anywhere(candidate.name, origin=file, element="imagePath")
        if found is not None:
            return self._claim(found)
        if isinstance(embedded, str) and embedded:
            try:
                pixels = base64.b64decode(embedded, validate=True)
            except (binascii.Error, ValueError):
                raise ParseError("imageData is not valid base64", path=file, element="imageData") from None
            return posixpath.normpath(posixpath.join(folder, candidate.name)), pixels
        return candidate.relative_to(self.root).as_posix(), candidate

    def _beside(self, file: Path, folder: str, image_path: str) -> Path:
        """``imagePath`` relative to the JSON's folder; ``..`` is fine while it stays under the root."""
        text = image_path.replace("\\", "/")
        if PurePosixPath(text).is_absolute() or text[1:2] == ":":
            raise UnsafePathError(
                f"absolute imagePath {image_path!r} is not allowed; paths must be relative to the JSON file",
                path=file,
                element="imagePath",
            )
        return safe_join(self.root, posixpath.normpath(posixpath.join(folder, text)), origin=file, element="imagePath")

    def _claim(self, image: Path) -> tuple[str, Path]:
        self.claimed.add(image)
        return relative_name(image, self.root), image


def _size(data: dict[str, Any]) -> tuple[int, int] | None:
    width, height = data.get("imageWidth"), data.get("imageHeight")
    if width is None or height is None:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
        raise AnnotationError(f"imageWidth/imageHeight must be positive integers, got {width!r}x{height!r}")
    return width, height


def _extension(embedded: Any) -> str:
    """The file extension of embedded image bytes (for a JSON without imagePath)."""
    if not isinstance(embedded, str):
        return ".jpg"
    try:
        head = base64.b64decode(embedded[:16] + "=" * (-len(embedded[:16]) % 4))
    except (binascii.Error, ValueError):
        return ".jpg"
    return next((ext for magic, ext in _MAGIC.items() if head.startswith(magic)), ".jpg")
