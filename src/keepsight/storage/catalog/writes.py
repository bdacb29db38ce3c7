"""Writes to the catalog. Callers own the transaction (``with engine.begin() as conn``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from keepsight.errors import ConflictError, KeepsightError, StorageError
from keepsight.model.annotation import Annotation
from keepsight.model.labelbook import LabelBook
from keepsight.storage.catalog.rows import annotation_from_row, annotation_values, now
from keepsight.storage.catalog.tables import (
    annotation_revisions,
    blobs,
    classes,
    events,
    frozen_test,
    import_runs,
    problems,
    samples,
)
from keepsight.storage.catalog.tables import (
    annotations as annotation_rows,
)

# -- import runs -------------------------------------------------------------------------

def find_unfinished_import(conn: Connection, fingerprint: str) -> int | None:
    row = conn.execute(
        select(import_runs.c.id).where(import_runs.c.fingerprint == fingerprint, import_runs.c.status == "running")
        .order_by(import_runs.c.id.desc())
    ).first()
    return int(row[0]) if row else None


def start_import(conn: Connection, *, fingerprint: str, source: str, format_name: str,
                 options: dict[str, Any], author: str | None) -> int:
    result = conn.execute(insert(import_runs).values(
        fingerprint=fingerprint, source=source, format=format_name, options=options, status="running",
        author=author, started_at=now(), counts={},
    ).returning(import_runs.c.id))
    return int(result.scalar_one())


def staged_paths(conn: Connection, import_id: int) -> set[str]:
    rows = conn.execute(select(samples.c.path).where(samples.c.import_id == import_id, samples.c.status == "staged"))
    return {r[0] for r in rows}


def known_samples(conn: Connection, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """path -> (blob digest, status) for the given paths already in the catalog."""
    paths = list(paths)
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(paths), 500):
        chunk = paths[start:start + 500]
        rows = conn.execute(select(samples.c.path, samples.c.blob, samples.c.status).where(samples.c.path.in_(chunk)))
        out.update({p: (b, s) for p, b, s in rows})
    return out


def ensure_blob(conn: Connection, digest: str, size: int, import_id: int | None) -> None:
    if conn.execute(select(blobs.c.digest).where(blobs.c.digest == digest)).first() is None:
        conn.execute(insert(blobs).values(digest=digest, size=size, created_at=now(), import_id=import_id))


def stage_sample(conn: Connection, *, import_id: int, path: str, digest: str, width: int, height: int, mode: str,
                 image_format: str, split: str, verdict: str | None, metadata: dict[str, Any],
                 annotations_in: list[Annotation], author: str | None) -> int:
    at = now()
    result = conn.execute(insert(samples).values(
        path=path, blob=digest, width=width, height=height, mode=mode, format=image_format, split=split,
        verdict=verdict, status="staged", meta=metadata, import_id=import_id, created_at=at,
    ).returning(samples.c.id))
    sample_id = int(result.scalar_one())
    insert_annotations(conn, sample_id, annotations_in, author=author, at=at, reason="import")
    return sample_id


def insert_annotations(conn: Connection, sample_id: int, items: list[Annotation], *, author: str | None,
                       at: datetime, reason: str | None) -> list[str]:
    if not items:
        return []
    values = [annotation_values(sample_id, a, author=author, at=at) for a in items]
    conn.execute(insert(annotation_rows), values)
    conn.execute(insert(annotation_revisions), [_revision_row(v, "create", reason) for v in values])
    return [v["uid"] for v in values]


def _revision_row(values: dict[str, Any], action: str, reason: str | None) -> dict[str, Any]:
    return {
        "annotation_uid": values["uid"], "revision": values["revision"], "action": action, "kind": values["kind"],
        "label": values["label"], "geometry": values["geometry"], "attributes": values["attributes"],
        "author": values["author"], "reason": reason, "changed_at": values["updated_at"],
    }


def commit_import(conn: Connection, import_id: int, labelbook: LabelBook, counts: dict[str, Any]) -> int:
    """Make every staged sample of the run visible, atomically, and merge the label book."""
    result = conn.execute(
        update(samples).where(samples.c.import_id == import_id, samples.c.status == "staged").values(status="active")
    )
    save_labelbook(conn, labelbook)
    conn.execute(update(import_runs).where(import_runs.c.id == import_id).values(
        status="committed", finished_at=now(), counts=counts))
    return int(result.rowcount or 0)


def discard_import(conn: Connection, import_id: int, reason: str) -> list[str]:
    """Remove what a failed run staged; return blob digests no sample references any more."""
    staged = select(samples.c.id).where(samples.c.import_id == import_id, samples.c.status == "staged")
    ids = [r[0] for r in conn.execute(staged)]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        uids = select(annotation_rows.c.uid).where(annotation_rows.c.sample_id.in_(chunk))
        conn.execute(delete(annotation_revisions).where(annotation_revisions.c.annotation_uid.in_(uids)))
        conn.execute(delete(annotation_rows).where(annotation_rows.c.sample_id.in_(chunk)))
        conn.execute(delete(samples).where(samples.c.id.in_(chunk)))
    orphans = [r[0] for r in conn.execute(
        select(blobs.c.digest).where(
            blobs.c.import_id == import_id,
            ~select(samples.c.id).where(samples.c.blob == blobs.c.digest).exists(),
        )
    )]
    if orphans:
        conn.execute(delete(blobs).where(blobs.c.digest.in_(orphans)))
    conn.execute(delete(problems).where(problems.c.import_id == import_id))
    conn.execute(update(import_runs).where(import_runs.c.id == import_id).values(
        status="failed", finished_at=now(), counts={"error": reason}))
    return orphans


def staged_label_kinds(conn: Connection, import_id: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(annotation_rows.c.label, annotation_rows.c.kind).distinct()
        .join(samples, samples.c.id == annotation_rows.c.sample_id)
        .where(samples.c.import_id == import_id, samples.c.status == "staged")
        .order_by(annotation_rows.c.label, annotation_rows.c.kind)
    )
    return [(label, kind) for label, kind in rows]


def record_problem(conn: Connection, import_id: int, error: KeepsightError) -> None:
    """Record a skipped element once, even when a resumed run meets it again."""
    same = select(problems.c.id).where(
        problems.c.import_id == import_id, problems.c.path.is_not_distinct_from(error.path),
        problems.c.element.is_not_distinct_from(error.element), problems.c.reason == error.reason,
    )
    if conn.execute(same).first() is not None:
        return
    conn.execute(insert(problems).values(
        import_id=import_id, path=error.path, element=error.element, code=error.code, reason=error.reason,
        created_at=now(),
    ))


# -- label book --------------------------------------------------------------------------

def save_labelbook(conn: Connection, book: LabelBook) -> None:
    existing = {r[0] for r in conn.execute(select(classes.c.name))}
    for position, (name, spec) in enumerate(book.classes.items()):
        values = {"position": position, "spec": spec.model_dump(mode="json")}
        if name in existing:
            conn.execute(update(classes).where(classes.c.name == name).values(**values))
        else:
            conn.execute(insert(classes).values(name=name, **values))
    stale = existing - set(book.classes)
    if stale:
        conn.execute(delete(classes).where(classes.c.name.in_(stale)))


# -- annotation edits (optimistic locking by revision) ------------------------------------

def update_annotation(conn: Connection, uid: str, new: Annotation, *, expected_revision: int,
                      author: str | None, reason: str | None = None) -> Annotation:
    """Replace an annotation's class, geometry and attributes if nobody changed it meanwhile."""
    at = now()
    result = conn.execute(
        update(annotation_rows)
        .where(and_(annotation_rows.c.uid == uid, annotation_rows.c.revision == expected_revision,
                    annotation_rows.c.deleted.is_(False)))
        .values(kind=new.kind, label=new.label, geometry=new.geometry.to_json(), attributes=dict(new.attributes),
                author=author, updated_at=at, revision=expected_revision + 1)
    )
    if result.rowcount != 1:
        _raise_conflict(conn, uid, expected_revision)
    row = conn.execute(select(annotation_rows).where(annotation_rows.c.uid == uid)).mappings().one()
    conn.execute(insert(annotation_revisions).values(_revision_row(dict(row), "update", reason)))
    return annotation_from_row(row)


def delete_annotation(conn: Connection, uid: str, *, expected_revision: int, author: str | None,
                      reason: str | None = None) -> None:
    at = now()
    result = conn.execute(
        update(annotation_rows)
        .where(and_(annotation_rows.c.uid == uid, annotation_rows.c.revision == expected_revision,
                    annotation_rows.c.deleted.is_(False)))
        .values(deleted=True, author=author, updated_at=at, revision=expected_revision + 1)
    )
    if result.rowcount != 1:
        _raise_conflict(conn, uid, expected_revision)
    row = conn.execute(select(annotation_rows).where(annotation_rows.c.uid == uid)).mappings().one()
    conn.execute(insert(annotation_revisions).values(_revision_row(dict(row), "delete", reason)))


def _raise_conflict(conn: Connection, uid: str, expected: int) -> None:
    row = conn.execute(select(annotation_rows.c.revision, annotation_rows.c.deleted, annotation_rows.c.author)
                       .where(annotation_rows.c.uid == uid)).first()
    if row is None:
        raise StorageError(f"annotation {uid} does not exist")
    state = "deleted" if row.deleted else f"at revision {row.revision}"
    raise ConflictError(
        f"annotation {uid} changed since revision {expected}: it is now {state} (last by {row.author}); "
        "reload it and apply your change again"
    )


def annotation_history(conn: Connection, uid: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(annotation_revisions).where(annotation_revisions.c.annotation_uid == uid)
                        .order_by(annotation_revisions.c.revision)).mappings()
    return [dict(r) for r in rows]


# -- events (the change log) --------------------------------------------------------------

def record_event(conn: Connection, action: str, *, actor: str | None, target: str | None = None,
                 reason: str | None = None, details: dict[str, Any] | None = None) -> None:
    conn.execute(insert(events).values(at=now(), actor=actor, action=action, target=target, reason=reason,
                                       details=details or {}))



def record_events(conn: Connection, rows: list[dict[str, Any]], *, actor: str | None, reason: str | None = None) -> None:
    """Many events at once (one per moved sample, say): ``rows`` hold action, target and details."""
    at = now()
    values = [{"at": at, "actor": actor, "reason": reason, "target": r.get("target"), "action": r["action"],
               "details": r.get("details") or {}} for r in rows]
    for start in range(0, len(values), 1000):
        conn.execute(insert(events), values[start:start + 1000])


# -- splits, the frozen test set, removal ---------------------------------------------------

def set_splits(conn: Connection, moves: dict[int, tuple[str, str]]) -> None:
    """Move samples (id -> (from, to)); refuses with a ConflictError if any is no longer where the plan saw it."""
    ids = sorted(moves)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        current = dict(conn.execute(select(samples.c.id, samples.c.split).where(samples.c.id.in_(chunk))).all())
        changed = [i for i in chunk if current.get(i) != moves[i][0]]
        if changed:
            raise ConflictError(f"{len(changed)} sample(s) changed split meanwhile (e.g. sample id {changed[0]}); "
                                "nothing was moved: run the command again")
    by_target: dict[str, list[int]] = {}
    for i in ids:
        by_target.setdefault(moves[i][1], []).append(i)
    for target, chosen in by_target.items():
        for start in range(0, len(chosen), 500):
            conn.execute(update(samples).where(samples.c.id.in_(chosen[start:start + 500])).values(split=target))


def freeze_samples(conn: Connection, ids: Iterable[int], *, actor: str | None, reason: str | None) -> int:
    """Add samples to the frozen test set (those already in it are left as they are)."""
    already = {r[0] for r in conn.execute(select(frozen_test.c.sample_id))}
    new = sorted(set(ids) - already)
    at = now()
    for start in range(0, len(new), 1000):
        conn.execute(insert(frozen_test), [{"sample_id": i, "frozen_at": at, "actor": actor, "reason": reason}
                                           for i in new[start:start + 1000]])
    return len(new)


def unfreeze_samples(conn: Connection, ids: Iterable[int]) -> int:
    chosen = sorted(set(ids))
    done = 0
    for start in range(0, len(chosen), 500):
        result = conn.execute(delete(frozen_test).where(frozen_test.c.sample_id.in_(chosen[start:start + 500])))
        done += int(result.rowcount or 0)
    return done


def set_sample_status(conn: Connection, sample_id: int, *, removed: bool, actor: str | None,
                      reason: str | None) -> None:
    """Remove an active sample (who, when, why) or restore a removed one."""
    if removed:
        values: dict[str, Any] = {"status": "removed", "removed_by": actor, "removed_at": now(), "removed_reason": reason}
        expected = "active"
    else:
        values = {"status": "active", "removed_by": None, "removed_at": None, "removed_reason": None}
        expected = "removed"
    result = conn.execute(update(samples).where(samples.c.id == sample_id, samples.c.status == expected).values(**values))
    if result.rowcount != 1:
        raise ConflictError(f"sample id {sample_id} is not {expected} (any more)")
