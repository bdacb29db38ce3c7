"""A version's manifest: what the dataset was, in a few kilobytes.

It names every active sample (id, path, blob digest, split, verdict, image facts, metadata),
its live annotations by their ``annotation_revisions`` row (the revision history already holds
the content, so a version copies no annotation), the frozen test set and the label book.
Images are referenced by digest: a version stores no image bytes.

On disk it is column-wise JSON (integer columns delta-encoded, so runs of ids compress to
almost nothing), gzip-compressed with a zero timestamp: the same dataset state always gives
the same bytes, hence the same digest in the content-addressed blob store.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, select

from keepsight.errors import IntegrityError, StorageError
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import geometry_from_json
from keepsight.model.labelbook import LabelBook
from keepsight.storage.catalog import queries, tables
from keepsight.storage.catalog.tables import annotation_revisions, samples

# mypy takes tables.annotations for the ``from __future__ import annotations`` feature.
annotation_rows = cast(Table, tables.annotations)

MANIFEST_FORMAT = 1
_SAMPLE_COLUMNS = ("path", "blob", "split", "verdict", "width", "height", "mode", "format", "meta")


@dataclass(frozen=True)
class Entry:
    """One sample as a version saw it."""

    id: int
    path: str
    blob: str
    split: str
    verdict: str | None
    width: int
    height: int
    mode: str
    format: str
    meta: dict[str, Any]
    revisions: tuple[int, ...]  # annotation_revisions row ids of its live annotations

    def sample(self) -> Sample:
        return Sample(id=self.id, path=self.path, blob=self.blob, width=self.width, height=self.height,
                      mode=self.mode, format=self.format, split=self.split,  # type: ignore[arg-type]
                      verdict=self.verdict, status="active", metadata=dict(self.meta))  # type: ignore[arg-type]


@dataclass
class Manifest:
    entries: list[Entry]
    labelbook: dict[str, Any]
    frozen_test: list[int] = field(default_factory=list)

    def by_id(self) -> dict[int, Entry]:
        return {e.id: e for e in self.entries}

    def label_book(self) -> LabelBook:
        return LabelBook.model_validate(self.labelbook)

    def summary(self) -> dict[str, Any]:
        splits: dict[str, int] = {}
        for e in self.entries:
            splits[e.split] = splits.get(e.split, 0) + 1
        return {"samples": len(self.entries), "splits": splits,
                "annotations": sum(len(e.revisions) for e in self.entries),
                "classes": len(self.labelbook.get("classes", {})), "frozen_test": len(self.frozen_test)}


def _delta(values: list[int]) -> list[int]:
    return [b - a for a, b in zip([0, *values], values, strict=False)]


def _undelta(values: list[int]) -> list[int]:
    out, total = [], 0
    for v in values:
        total += v
        out.append(total)
    return out


def encode(manifest: Manifest) -> bytes:
    columns: dict[str, list[Any]] = {c: [] for c in _SAMPLE_COLUMNS}
    counts: list[int] = []
    rows: list[int] = []
    for e in manifest.entries:
        for c in _SAMPLE_COLUMNS:
            columns[c].append(getattr(e, c))
        counts.append(len(e.revisions))
        rows.extend(e.revisions)
    body = {
        "format": MANIFEST_FORMAT,
        "ids": _delta([e.id for e in manifest.entries]),
        "samples": columns,
        "annotation_counts": counts,
        "annotation_rows": _delta(rows),
        "frozen_test": _delta(sorted(manifest.frozen_test)),
        "labelbook": manifest.labelbook,
    }
    text = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return gzip.compress(text, compresslevel=9, mtime=0)


def decode(data: bytes, *, where: str) -> Manifest:
    try:
        body = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise IntegrityError(f"version manifest {where} cannot be read: {exc}") from None
    if body.get("format") != MANIFEST_FORMAT:
        raise StorageError(f"version manifest {where} has format {body.get('format')!r}; "
                           f"this keepsight reads format {MANIFEST_FORMAT}")
    ids = _undelta(body["ids"])
    rows = _undelta(body["annotation_rows"])
    cols = body["samples"]
    entries, at = [], 0
    for i, sid in enumerate(ids):
        n = body["annotation_counts"][i]
        fields = {c: cols[c][i] for c in _SAMPLE_COLUMNS}
        entries.append(Entry(id=sid, revisions=tuple(rows[at:at + n]), **fields))
        at += n
    return Manifest(entries, body["labelbook"], _undelta(body["frozen_test"]))


def snapshot(conn: Connection) -> Manifest:
    """The manifest of the catalog's current state (call inside one repeatable-read transaction)."""
    live = (
        select(annotation_rows.c.sample_id, annotation_rows.c.uid, annotation_revisions.c.id)
        .join(samples, samples.c.id == annotation_rows.c.sample_id)
        .outerjoin(annotation_revisions, and_(annotation_revisions.c.annotation_uid == annotation_rows.c.uid,
                                              annotation_revisions.c.revision == annotation_rows.c.revision))
        .where(samples.c.status == "active", annotation_rows.c.deleted.is_(False))
        .order_by(annotation_rows.c.sample_id, annotation_rows.c.id)
    )
    revisions: dict[int, list[int]] = {}
    for sample_id, uid, row_id in conn.execute(live):
        if row_id is None:
            raise StorageError(f"annotation {uid} has no revision row for its current revision; "
                               "a version cannot reference it")
        revisions.setdefault(sample_id, []).append(int(row_id))
    entries = []
    for s in queries.iter_samples(conn):
        entries.append(Entry(s.id, s.path, s.blob, s.split, s.verdict, s.width, s.height, s.mode, s.format,
                             dict(s.metadata), tuple(revisions.get(s.id, ()))))
    book = queries.load_labelbook(conn).model_dump(mode="json")
    frozen = sorted(queries.frozen_test_ids(conn) & {e.id for e in entries})
    return Manifest(entries, book, frozen)


def revision_annotations(conn: Connection, row_ids: list[int], batch: int = 500) -> Iterator[tuple[int, Annotation]]:
    """(row id, annotation as it was at that revision), for annotation_revisions rows."""
    for start in range(0, len(row_ids), batch):
        chunk = row_ids[start:start + batch]
        found = {r["id"]: r for r in conn.execute(select(annotation_revisions)
                                                  .where(annotation_revisions.c.id.in_(chunk))).mappings()}
        for row_id in chunk:
            row = found.get(row_id)
            if row is None:
                raise StorageError(f"annotation revision row {row_id} referenced by a version is missing")
            yield row_id, Annotation(
                label=row["label"], geometry=geometry_from_json(row["kind"], row["geometry"]),
                attributes=dict(row["attributes"] or {}), uid=row["annotation_uid"], author=row["author"],
                updated_at=row["changed_at"], revision=row["revision"],
            )
