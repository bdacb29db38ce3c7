"""Parsing keepsight manifests: JSON lines (everything) and CSV (image-level fields only)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from keepsight.errors import AnnotationError, KeepsightError, ParseError
from keepsight.formats.base import ImportItem, ReadContext, Reading, safe_join
from keepsight.model.annotation import Annotation, annotation_from_json, normalize_split, normalize_verdict
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

FORMAT_TAG = "keepsight-manifest"
VERSION = 1
RECORD_KEYS = frozenset({"image", "split", "verdict", "tags", "metadata", "annotations", "width", "height"})
HEADER_KEYS = frozenset({"format", "version", "labelbook"})
ANNOTATION_KEYS = frozenset({"kind", "label", "geometry", "attributes"})
CSV_RESERVED = ("image", "split", "verdict", "tags")


class _Line:
    """Where a record came from, for error messages."""

    def __init__(self, file: Path, number: int) -> None:
        self.file, self.element = file, f"line {number}"

    def parse_error(self, reason: str) -> ParseError:
        return ParseError(reason, path=self.file, element=self.element)

    def annotation_error(self, reason: str, suffix: str = "") -> AnnotationError:
        return AnnotationError(reason, path=self.file, element=self.element + suffix)


def read_jsonl(file: Path, ctx: ReadContext) -> Reading:
    book, declared, first_record = _jsonl_header(file)
    return Reading(book, _jsonl_items(file, ctx, book if declared else None, first_record), classes_declared=declared)


def _jsonl_header(file: Path) -> tuple[LabelBook, bool, int]:
    """The label book of the optional header line, whether classes are declared, the first record's line."""
    with _open(file) as stream:
        first = next(((n, raw) for n, raw in enumerate(stream, start=1) if raw.strip()), None)
    if first is None:
        return LabelBook(), False, 1
    number, raw = first
    line = _Line(file, number)
    try:
        data = _json_object(raw, line)
    except ParseError:
        return LabelBook(), False, number  # not a header: reported (or skipped) with the records
    if "image" in data or not HEADER_KEYS & data.keys():
        return LabelBook(), False, number
    _check_keys(data, HEADER_KEYS, "header", line)
    if data.get("format", FORMAT_TAG) != FORMAT_TAG or data.get("version", VERSION) != VERSION:
        raise line.parse_error(
            f"header says format {data.get('format')!r} version {data.get('version')!r}; "
            f"this keepsight reads {FORMAT_TAG!r} version {VERSION}"
        )
    if "labelbook" not in data:
        return LabelBook(), False, number + 1
    try:
        return LabelBook.model_validate(data["labelbook"]), True, number + 1
    except ValidationError as exc:
        raise line.parse_error(f"invalid labelbook: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}") from None


def _jsonl_items(file: Path, ctx: ReadContext, declared: LabelBook | None, first: int) -> Iterator[ImportItem]:
    root = file.parent
    with _open(file) as stream:
        for number, raw in enumerate(stream, start=1):
            if number < first or not raw.strip():
                continue
            line = _Line(file, number)
            try:
                item = _record(_json_object(raw, line), root, line, ctx, declared)
            except KeepsightError as err:
                ctx.problem(err)
                continue
            yield item


def _record(data: dict[str, Any], root: Path, line: _Line, ctx: ReadContext, declared: LabelBook | None) -> ImportItem:
    _check_keys(data, RECORD_KEYS, "record", line)
    item = _base_item(data.get("image"), root, line)
    item.split = _split(data.get("split"), line)
    item.verdict = _verdict(data.get("verdict"), line)
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise line.parse_error(f"'metadata' must be an object, got {type(metadata).__name__}")
    item.metadata = metadata
    item.expected_size = _size(data, line)
    item.annotations = [Annotation(label=name, geometry=Tag()) for name in _tags(data.get("tags", []), line)]
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise line.parse_error(f"'annotations' must be a list, got {type(annotations).__name__}")
    for index, entry in enumerate(annotations, start=1):
        try:
            item.annotations.append(_annotation(entry, line, f", annotation {index}"))
        except KeepsightError as err:
            ctx.problem(err)  # skip-bad: drop this annotation, keep the image
    if declared is not None:
        _check_declared(item, declared, line, ctx)
    return item


def _base_item(image: object, root: Path, line: _Line) -> ImportItem:
    if not isinstance(image, str) or not image.strip():
        raise line.parse_error("'image' (the image path relative to the manifest) is missing or empty")
    source = safe_join(root, image, origin=line.file, element=line.element)
    name = PurePosixPath(image.replace("\\", "/")).as_posix()
    return ImportItem(path=name, source=source, origin=line.file.name, element=line.element)


def _annotation(entry: object, line: _Line, where: str) -> Annotation:
    if not isinstance(entry, dict):
        raise line.parse_error(f"annotation must be an object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - ANNOTATION_KEYS)
    if unknown:
        raise ParseError(
            f"unknown annotation keys {unknown}; expected {sorted(ANNOTATION_KEYS)}",
            path=line.file,
            element=line.element + where,
        )
    kind, label = entry.get("kind"), entry.get("label")
    if not isinstance(kind, str) or not isinstance(label, str):
        raise line.annotation_error("an annotation needs a string 'kind' and 'label'", where)
    attributes = entry.get("attributes", {})
    if not isinstance(attributes, dict):
        raise line.annotation_error("'attributes' must be an object", where)
    if kind != "tag" and "geometry" not in entry:
        raise line.annotation_error(f"a {kind} annotation needs 'geometry'", where)
    try:
        return annotation_from_json(kind, label, entry.get("geometry"), attributes)
    except AnnotationError as exc:
        raise line.annotation_error(exc.reason, where) from None


def _check_declared(item: ImportItem, declared: LabelBook, line: _Line, ctx: ReadContext) -> None:
    """Drop (skip-bad) or refuse annotations whose class the header's label book does not declare."""
    kept = []
    for index, ann in enumerate(item.annotations, start=1):
        if ann.label in declared:
            kept.append(ann)
        else:
            ctx.problem(
                line.annotation_error(
                    f"class {ann.label!r} is not declared in the header's labelbook "
                    f"({', '.join(declared.names()) or 'empty'})",
                    f", {ann.kind} {index}",
                )
            )
    item.annotations = kept


def _split(value: object, line: _Line) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise line.annotation_error(f"'split' must be a string, got {value!r}")
    try:
        return normalize_split(value)
    except AnnotationError as exc:
        raise line.annotation_error(exc.reason) from None


def _verdict(value: object, line: _Line) -> Any:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise line.annotation_error(f"'verdict' must be OK, NG or null, got {value!r}")
    try:
        return normalize_verdict(value)
    except AnnotationError as exc:
        raise line.annotation_error(exc.reason) from None


def _tags(value: object, line: _Line) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise line.parse_error(f"'tags' must be a list of class names, got {value!r}")
    return value


def _size(data: dict[str, Any], line: _Line) -> tuple[int, int] | None:
    if "width" not in data and "height" not in data:
        return None
    width, height = data.get("width"), data.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise line.parse_error(f"'width' and 'height' must both be positive integers, got {width!r}, {height!r}")
    return (width, height)


def _json_object(raw: str, line: _Line) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise line.parse_error(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise line.parse_error(f"each line must be a JSON object, got {type(data).__name__}")
    return data


def _check_keys(data: dict[str, Any], allowed: frozenset[str], what: str, line: _Line) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise line.parse_error(f"unknown {what} keys {unknown}; expected some of {sorted(allowed)}")


def _open(file: Path):  # type: ignore[no-untyped-def]
    try:
        return file.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ParseError(f"cannot read manifest: {exc}", path=file) from None


def read_csv(file: Path, ctx: ReadContext) -> Reading:
    with _open(file) as stream:
        header = next(csv.reader(stream), [])
    if "image" not in [h.strip() for h in header]:
        raise ParseError(f"the CSV header needs an 'image' column, got {header}", path=file, element="line 1")
    return Reading(LabelBook(), _csv_items(file, ctx), classes_declared=False)


def _csv_items(file: Path, ctx: ReadContext) -> Iterator[ImportItem]:
    root = file.parent
    with _open(file) as stream:
        reader = csv.DictReader(stream)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        for row in reader:
            line = _Line(file, reader.line_num)
            try:
                item = _csv_row(row, root, line)
            except KeepsightError as err:
                ctx.problem(err)
                continue
            yield item


def _csv_row(row: dict[str, str | None], root: Path, line: _Line) -> ImportItem:
    if None in row:
        raise line.parse_error(f"row has more cells than the header has columns: {row[None]}")  # type: ignore[index]
    cells = {key: (value or "").strip() for key, value in row.items()}
    item = _base_item(cells["image"], root, line)
    item.split = _split(cells.get("split") or None, line)
    item.verdict = _verdict(cells.get("verdict"), line)
    tags = [t.strip() for t in cells.get("tags", "").split(";") if t.strip()]
    item.annotations = [Annotation(label=name, geometry=Tag()) for name in tags]
    item.metadata = {key: value for key, value in cells.items() if key not in CSV_RESERVED and value}
    return item
