"""Reading a split that someone else made: a file naming, for each image, its split.

Accepted files (``keepsight split --from-file FILE``):

* JSON: ``{"<image>": "<split>", ...}``; or a list of records; or an object holding one list
  of records (BSData's ``image_data.json``: ``{"images": [{"filename": ..., "train_test_split": ...}]}``);
* JSON Lines, CSV or TSV records with a header;
* an image list (``FILE=SPLIT``, e.g. ``trainval.txt=train``): one image per line, the first
  whitespace-separated field (DeepPCB's, Darknet's and YOLO's ``train.txt``).

In records the image is the first field among ``path, file, filename, file_name, image,
image_path`` and the split the first among ``split, subset, set, train_test_split`` (or
the fields you name). A record whose split is null or empty says "in no split" (unassigned).
Image names are matched to sample paths exactly, else by a unique path suffix.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from keepsight.errors import AnnotationError, DatasetError, ParseError
from keepsight.model.annotation import Split, normalize_split

PATH_FIELDS = ("path", "file", "filename", "file_name", "image", "image_path")
SPLIT_FIELDS = ("split", "subset", "set", "train_test_split")


@dataclass
class SplitRecord:
    name: str
    split: Split
    where: str  # line or record, for errors


def read_split_file(spec: str, *, path_field: str | None = None, split_field: str | None = None) -> list[SplitRecord]:
    """Records of ``spec``: a file, or ``LIST=SPLIT`` for an image list."""
    file, split_for_list = _parse_spec(spec)
    text = _read_text(file)
    if split_for_list is not None:
        return list(_list_records(text, file, split_for_list))
    suffix = file.suffix.lower()
    if suffix == ".json":
        rows = _json_rows(text, file)
    elif suffix == ".jsonl":
        rows = _jsonl_rows(text, file)
    elif suffix in (".csv", ".tsv"):
        rows = list(csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise ParseError("unknown split file type: use .json, .jsonl, .csv, .tsv, or LIST=SPLIT for an image list",
                         path=file)
    if isinstance(rows, dict):
        return [_record(name, value, file, f"key {name!r}") for name, value in rows.items()]
    return _from_rows(rows, file, path_field, split_field)


def _parse_spec(spec: str) -> tuple[Path, Split | None]:
    file = Path(spec)
    if not file.exists() and "=" in spec:
        name, _, split = spec.rpartition("=")
        try:
            return Path(name), normalize_split(split)
        except AnnotationError as exc:
            raise DatasetError(f"{spec}: {exc.reason}") from None
    return file, None


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError("split file not found", path=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"cannot read: {exc}", path=file) from None


def _list_records(text: str, file: Path, split: Split) -> Iterator[SplitRecord]:
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            yield SplitRecord(fields[0], split, f"line {number}")


def _json_rows(text: str, file: Path) -> list[dict[str, Any]] | dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc.msg}", path=file, element=f"line {exc.lineno}") from None
    if isinstance(data, dict) and data and all(v is None or isinstance(v, str) for v in data.values()):
        return data  # {image: split}
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
        if len(lists) != 1:
            raise ParseError("expected {image: split}, a list of records, or an object holding one list of records",
                             path=file)
        data = lists[0]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ParseError("expected {image: split}, a list of records, or an object holding one list of records",
                         path=file)
    return data


def _jsonl_rows(text: str, file: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParseError(f"malformed JSON: {exc.msg}", path=file, element=f"line {number}") from None
            if not isinstance(row, dict):
                raise ParseError("each line must be a JSON object", path=file, element=f"line {number}")
            rows.append(row)
    return rows


def _pick(fields: Any, wanted: str | None, candidates: tuple[str, ...], what: str, file: Path) -> str:
    if wanted is not None:
        if wanted not in fields:
            raise ParseError(f"no {what} field {wanted!r} in the records", path=file)
        return wanted
    found = next((c for c in candidates if c in fields), None)
    if found is None:
        raise ParseError(f"no {what} field among {', '.join(candidates)}; name it with --{what}-field", path=file)
    return found


def _from_rows(rows: list[dict[str, Any]], file: Path, path_field: str | None,
               split_field: str | None) -> list[SplitRecord]:
    if not rows:
        return []
    keys = set().union(*(r.keys() for r in rows))
    pf = _pick(keys, path_field, PATH_FIELDS, "path", file)
    sf = _pick(keys, split_field, SPLIT_FIELDS, "split", file)
    out = []
    for i, row in enumerate(rows):
        name = row.get(pf)
        if not isinstance(name, str) or not name:
            raise ParseError(f"record {i} has no image name in {pf!r}", path=file, element=f"record {i}")
        out.append(_record(name, row.get(sf), file, f"record {i}"))
    return out


def _record(name: str, value: Any, file: Path, where: str) -> SplitRecord:
    if value is not None and not isinstance(value, str):
        raise ParseError(f"split must be a name or null, got {value!r}", path=file, element=where)
    try:
        return SplitRecord(name, normalize_split(value or None), where)
    except AnnotationError as exc:
        raise ParseError(exc.reason, path=file, element=where) from None


@dataclass
class Matched:
    splits: dict[int, Split] = field(default_factory=dict)  # sample id -> split
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


def match_records(records: list[SplitRecord], paths: dict[int, str], file: str) -> Matched:
    """Sample ids for the records' image names: the exact path, else the only path ending in ``/name``."""
    by_path = {p: i for i, p in paths.items()}
    by_suffix: dict[str, list[int]] = {}
    for sample_id, p in paths.items():
        parts = PurePosixPath(p).parts
        for k in range(1, len(parts)):
            by_suffix.setdefault("/".join(parts[k:]), []).append(sample_id)
    out = Matched()
    for rec in records:
        name = rec.name.replace("\\", "/").removeprefix("./")
        sid: int | None = by_path.get(name)
        if sid is None:
            candidates = by_suffix.get(name, [])
            if len(candidates) > 1:
                out.ambiguous.append(name)
                continue
            sid = candidates[0] if candidates else None
        if sid is None:
            out.unmatched.append(name)
            continue
        if sid in out.splits and out.splits[sid] != rec.split:
            raise ParseError(f"{name} is listed in both {out.splits[sid]} and {rec.split}", path=file,
                             element=rec.where)
        out.splits[sid] = rec.split
    return out
