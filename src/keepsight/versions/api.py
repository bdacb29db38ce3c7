"""Dataset versions: immutable, cheap snapshots named v1, v2, ...

``create_version`` writes the manifest (see :mod:`keepsight.versions.manifest`) to the blob
store under its digest and one row to the ``versions`` table. Nothing is copied: images and
annotation revisions are referenced, and neither is ever deleted while a version names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from keepsight.dataset import Dataset, current_user
from keepsight.errors import ConflictError, DatasetError
from keepsight.storage.catalog import writes
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import versions
from keepsight.versions.manifest import Manifest, decode, encode, snapshot

CURRENT = "current"  # the live dataset, where a version name is accepted for reading
_LABEL = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class VersionInfo:
    label: str
    message: str
    actor: str | None
    created_at: datetime
    manifest: str  # digest of the compressed manifest in the blob store
    manifest_bytes: int
    samples: int
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "message": self.message, "actor": self.actor,
                "created_at": self.created_at.isoformat(), "manifest": self.manifest,
                "manifest_bytes": self.manifest_bytes, "samples": self.samples, "summary": self.summary}


@contextmanager
def consistent_read(ds: Dataset) -> Iterator[Connection]:
    """One connection whose reads all see the same committed state (a snapshot)."""
    if ds.engine.dialect.name == "postgresql":
        with ds.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
        return
    with ds.engine.connect() as conn:
        # pysqlite opens no transaction for SELECTs: BEGIN makes every read see one WAL snapshot.
        conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def _info(row: Any) -> VersionInfo:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return VersionInfo(row.label, row.message, row.actor, created, row.manifest, int(row.manifest_bytes),
                       int(row.samples), dict(row.summary or {}))


def _next_label(conn: Connection) -> str:
    numbers = [int(m.group(1)) for (label,) in conn.execute(select(versions.c.label))
               if (m := _LABEL.match(label))]
    return f"v{max(numbers, default=0) + 1}"


def create_version(ds: Dataset, message: str) -> str:
    """Snapshot the dataset now; returns the new version's label (``v1``, ``v2``, ...)."""
    if not message or not message.strip():
        raise DatasetError("a version needs a message saying why it was made (-m)")
    with consistent_read(ds) as conn:
        manifest = snapshot(conn)
    data = encode(manifest)
    blob = ds.blobs.put(data)
    actor = current_user()
    summary = manifest.summary()
    for _attempt in range(3):
        try:
            with ds.transaction() as conn:
                label = _next_label(conn)
                conn.execute(insert(versions).values(
                    label=label, message=message.strip(), actor=actor, created_at=now(), manifest=blob.digest,
                    manifest_bytes=len(data), samples=len(manifest.entries), summary=summary))
                writes.record_event(conn, "version.create", actor=actor, target=label, reason=message.strip(),
                                    details={"manifest": blob.digest, "bytes": len(data), **summary})
            return label
        except DBIntegrityError:
            continue  # another writer took the label meanwhile: take the next one
    raise ConflictError("could not name the new version: other versions are being created at the same time")


def list_versions(ds: Dataset) -> list[VersionInfo]:
    """Every version, oldest first."""
    with ds.reading() as conn:
        return [_info(r) for r in conn.execute(select(versions).order_by(versions.c.id))]


def latest_version(ds: Dataset) -> str | None:
    with ds.reading() as conn:
        row = conn.execute(select(versions.c.label).order_by(versions.c.id.desc()).limit(1)).first()
    return str(row[0]) if row else None


def get_version(ds: Dataset, name: str) -> VersionInfo:
    """A version by label (``v3``, or ``3``, or ``latest``)."""
    label = _resolve(ds, name)
    with ds.reading() as conn:
        row = conn.execute(select(versions).where(versions.c.label == label)).first()
    if row is None:
        known = [v.label for v in list_versions(ds)]
        raise DatasetError(f"no version {name!r}; versions: {', '.join(known) or 'none yet (keepsight version create)'}")
    return _info(row)


def _resolve(ds: Dataset, name: str) -> str:
    name = name.strip()
    if name == "latest":
        latest = latest_version(ds)
        if latest is None:
            raise DatasetError("no version yet (keepsight version create -m MESSAGE)")
        return latest
    return f"v{name}" if name.isdigit() else name


def load_manifest(ds: Dataset, name: str) -> Manifest:
    """The manifest of a version, or of the live dataset for ``current``."""
    if name == CURRENT:
        with consistent_read(ds) as conn:
            return snapshot(conn)
    info = get_version(ds, name)
    return decode(ds.blobs.get(info.manifest), where=info.label)


def referenced_blobs(ds: Dataset) -> set[str]:
    """Every image digest some version names (what blob garbage collection must keep)."""
    with ds.reading() as conn:
        digests = sorted({r[0] for r in conn.execute(select(versions.c.manifest))})
    out: set[str] = set()
    for digest in digests:
        out.update(e.blob for e in decode(ds.blobs.get(digest), where=digest).entries)
    return out

