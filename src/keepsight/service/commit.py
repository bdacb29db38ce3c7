"""Writing an image's annotation set into the catalog without losing anybody's work.

The *revision of an image's set* is the sum of the revisions of all its annotation rows,
deleted ones included: every create (+1), update (+1) and delete (+1) raises it, whoever
makes the change (the service, the CLI, a script), so it is an honest optimistic lock.

Writers serialise on the sample's row (a no-op UPDATE taken first: a row lock on PostgreSQL,
the write lock on SQLite) and then compare what they started from with what is there now:

* :func:`save_set` — a whole set saved on top of ``base_revision``: refused with the
  current content when the set changed meanwhile.
* :func:`commit_three_way` — a draft made from a ``base`` snapshot: changes nobody else
  made are applied, changes others made to annotations the draft did not touch are kept,
  and an annotation changed on both sides is a conflict (or resolved as asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, func, select, update

from keepsight.model.annotation import Annotation
from keepsight.service.annotations import from_dict, to_dict
from keepsight.service.errors import NotFound, RevisionConflict, StateConflict
from keepsight.storage.catalog import queries, writes
from keepsight.storage.catalog.rows import new_uid, now
from keepsight.storage.catalog.tables import annotations as annotation_rows
from keepsight.storage.catalog.tables import samples

Resolve = Literal["ours", "theirs"]


@dataclass
class CommitResult:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    kept_theirs: int = 0
    conflicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"inserted": self.inserted, "updated": self.updated, "deleted": self.deleted,
                "kept_theirs": self.kept_theirs}


def set_revision(conn: Connection, sample_id: int) -> int:
    total = conn.execute(select(func.coalesce(func.sum(annotation_rows.c.revision), 0))
                         .where(annotation_rows.c.sample_id == sample_id)).scalar_one()
    return int(total)


def current_set(conn: Connection, sample_id: int) -> tuple[int, list[dict[str, Any]]]:
    return set_revision(conn, sample_id), [to_dict(a) for a in queries.annotations_of(conn, sample_id)]


def lock_sample(conn: Connection, sample_id: int) -> None:
    """Serialise writers of one image; must be the first statement of the transaction."""
    result = conn.execute(update(samples).where(samples.c.id == sample_id, samples.c.status == "active")
                          .values(status=samples.c.status))
    if result.rowcount != 1:
        raise NotFound(f"no active sample {sample_id}")


def save_set(conn: Connection, sample_id: int, *, base_revision: int, new: list[Annotation], author: str,
             reason: str) -> tuple[int, list[dict[str, Any]], CommitResult]:
    """Replace the image's set if it is still at ``base_revision``; else RevisionConflict with the current set."""
    lock_sample(conn, sample_id)
    revision, current = current_set(conn, sample_id)
    if revision != base_revision:
        raise RevisionConflict(f"the annotations of sample {sample_id} changed since revision {base_revision}: they "
                               f"are at revision {revision}; merge your change into the current set and save again",
                               revision=revision, annotations=current)
    result = _apply(conn, sample_id, base=current, ours=new, author=author, reason=reason, resolve=None, locked=True)
    revision, current = current_set(conn, sample_id)
    return revision, current, result


def commit_three_way(conn: Connection, sample_id: int, *, base: list[dict[str, Any]], ours: list[Annotation],
                     author: str, reason: str, resolve: Resolve | None = None) -> CommitResult:
    """Apply the changes from ``base`` to ``ours`` onto the catalog as it is now."""
    return _apply(conn, sample_id, base=base, ours=ours, author=author, reason=reason, resolve=resolve, locked=False)


def _apply(conn: Connection, sample_id: int, *, base: list[dict[str, Any]], ours: list[Annotation], author: str,
           reason: str, resolve: Resolve | None, locked: bool) -> CommitResult:
    if not locked:
        lock_sample(conn, sample_id)
    theirs = {a.uid: a for a in queries.annotations_of(conn, sample_id)}
    base_map = {d["uid"]: d for d in base}
    ours_map = {(a.uid or new_uid()): a for a in ours}
    result = CommitResult()
    updates: list[tuple[str, Annotation, int]] = []
    deletes: list[tuple[str, int]] = []
    inserts: list[Annotation] = [a for uid, a in ours_map.items() if uid not in base_map]
    for uid, stored in base_map.items():
        before = from_dict(stored)
        mine, now_there = ours_map.get(uid), theirs.get(uid)
        if mine is not None and mine.same_content(before):
            continue  # we did not touch it: whatever the catalog holds now stays
        they_changed = now_there is None or now_there.revision != stored["revision"]
        if not they_changed:
            _plan(uid, mine, stored["revision"], updates, deletes)
            continue
        if (mine is None and now_there is None) or (mine is not None and now_there is not None
                                                    and mine.same_content(now_there)):
            continue  # both sides made the same change
        if resolve == "theirs":
            result.kept_theirs += 1
        elif resolve == "ours":
            if now_there is None:
                if mine is not None:
                    inserts.append(mine)
            else:
                _plan(uid, mine, int(now_there.revision or 0), updates, deletes)
        else:
            result.conflicts.append(uid)
    if result.conflicts:
        raise StateConflict(
            f"{len(result.conflicts)} annotation(s) of sample {sample_id} were changed in the catalog and in this "
            f"draft ({', '.join(result.conflicts[:5])}); accept again with resolve='ours' (the draft wins) or "
            "'theirs' (the catalog wins)")
    for uid, annotation, expected in updates:
        writes.update_annotation(conn, uid, annotation, expected_revision=expected, author=author, reason=reason)
        result.updated += 1
    for uid, expected in deletes:
        writes.delete_annotation(conn, uid, expected_revision=expected, author=author, reason=reason)
        result.deleted += 1
    if inserts:
        # Catalog uids are global: new annotations get fresh ones (a draft's uids only name its own regions).
        fresh = [Annotation(a.label, a.geometry, dict(a.attributes), uid=new_uid()) for a in inserts]
        writes.insert_annotations(conn, sample_id, fresh, author=author, at=now(), reason=reason)
        result.inserted += len(fresh)
    return result


def _plan(uid: str, mine: Annotation | None, expected: int, updates: list[tuple[str, Annotation, int]],
          deletes: list[tuple[str, int]]) -> None:
    if mine is None:
        deletes.append((uid, expected))
    else:
        updates.append((uid, mine, expected))
