"""Blob garbage collection: free the bytes of images nothing needs any more.

An image's bytes are needed while an active or staged sample shows them, or while any
version names them (a version must stay exportable). Only the bytes of removed images
that no version holds, and of blobs no sample references at all, are deleted. Removed
samples keep their catalog rows (who removed them, when and why).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select

from keepsight.dataset import Dataset, current_user
from keepsight.errors import ConflictError
from keepsight.storage.catalog import writes
from keepsight.storage.catalog.tables import blobs, import_runs, samples
from keepsight.versions.api import referenced_blobs


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)  # digests whose bytes were deleted
    bytes_freed: int = 0
    kept_for_versions: int = 0  # blobs of removed images kept because a version names them
    dry_run: bool = False


def collect_garbage(ds: Dataset, *, dry_run: bool = False) -> GcReport:
    with ds.reading() as conn:
        if conn.execute(select(import_runs.c.id).where(import_runs.c.status == "running")).first() is not None:
            raise ConflictError("an import is running or was interrupted: finish it (run the same import again) "
                                "before collecting garbage")
        needed = {r[0] for r in conn.execute(select(samples.c.blob).where(samples.c.status.in_(("active", "staged"))))}
        referenced = {r[0] for r in conn.execute(select(samples.c.blob).distinct())}
        sizes = dict(conn.execute(select(blobs.c.digest, blobs.c.size)).all())
    in_versions = referenced_blobs(ds)
    candidates = sorted(set(sizes) - needed)
    report = GcReport(dry_run=dry_run, kept_for_versions=sum(1 for d in candidates if d in in_versions))
    doomed = [d for d in candidates if d not in in_versions and ds.blobs.exists(d)]
    report.deleted = doomed
    report.bytes_freed = sum(int(sizes[d]) for d in doomed)
    if dry_run or not doomed:
        return report
    with ds.transaction() as conn:
        # Restored or re-imported meanwhile: needed again.
        again = {r[0] for r in conn.execute(select(samples.c.blob).where(
            samples.c.status.in_(("active", "staged")), samples.c.blob.in_(doomed[:30000])))}
        doomed = report.deleted = [d for d in doomed if d not in again]
        report.bytes_freed = sum(int(sizes[d]) for d in doomed)
        orphans = [d for d in doomed if d not in referenced]
        for start in range(0, len(orphans), 500):
            conn.execute(delete(blobs).where(blobs.c.digest.in_(orphans[start:start + 500])))
        writes.record_event(conn, "gc.delete", actor=current_user(), details={
            "blobs": len(doomed), "bytes": report.bytes_freed, "digests": doomed[:10000]})
    for digest in doomed:
        ds.blobs.delete(digest)
    return report
