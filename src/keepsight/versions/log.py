"""The change log: who changed what, when and why.

Three records make the trail, merged newest first: the ``events`` table (removals, split
moves, freezes, versions, models, label-book edits), the ``annotation_revisions`` history
(every annotation edit and deletion, and every annotation drawn outside an import) and the
committed ``import_runs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, or_, select

from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.storage.catalog import queries, tables
from keepsight.storage.catalog.tables import annotation_revisions, events, import_runs, samples

# mypy takes tables.annotations for the ``from __future__ import annotations`` feature.
annotation_rows = cast(Table, tables.annotations)


@dataclass
class LogEntry:
    at: datetime
    actor: str | None
    action: str
    target: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action, "target": self.target,
                "reason": self.reason, "details": self.details}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _action_filter(column: Any, action: str | None) -> Any:
    """``split`` matches ``split.move`` and ``split.run``; ``split.move`` matches itself."""
    if action is None:
        return None
    return or_(column == action, column.like(f"{action}.%"))


def change_log(
    ds: Dataset,
    *,
    sample: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int | None = 100,
) -> list[LogEntry]:
    """The trail, newest first; filtered by sample path, action (or action family), actor and time."""
    with ds.reading() as conn:
        found = queries.sample_by_path(conn, sample) if sample is not None else None
        if sample is not None and found is None:
            raise DatasetError("no such sample in the dataset", path=sample)
        entries: list[LogEntry] = []
        for query, make in (_events(sample, action, actor, since, limit), _revisions(found, action, actor, since,
                                                                                     limit),
                            _imports(found, action, actor, since, limit)):
            if query is not None:
                entries += [make(row) for row in conn.execute(query).mappings()]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit] if limit is not None else entries


def _limited(query: Select[Any], column: Any, limit: int | None) -> Select[Any]:
    query = query.order_by(column.desc())
    return query.limit(limit) if limit is not None else query


def _events(sample: str | None, action: str | None, actor: str | None, since: datetime | None,
            limit: int | None) -> tuple[Select[Any], Any]:
    query = select(events)
    if sample is not None:
        query = query.where(events.c.target == sample)
    for cond in (_action_filter(events.c.action, action), events.c.actor == actor if actor else None,
                 events.c.at >= since if since else None):
        if cond is not None:
            query = query.where(cond)

    def make(row: Any) -> LogEntry:
        return LogEntry(_utc(row["at"]), row["actor"], row["action"], row["target"], row["reason"],
                        dict(row["details"] or {}))

    return _limited(query, events.c.at, limit), make


def _revisions(sample: Any, action: str | None, actor: str | None, since: datetime | None,
               limit: int | None) -> tuple[Select[Any] | None, Any]:
    """Annotation edits; creations made by an import are covered by the import's own entry."""
    r = annotation_revisions
    prev = annotation_revisions.alias("previous")
    if action is not None and action != "annotation" and not action.startswith("annotation."):
        return None, None
    query = (select(r, samples.c.path, prev.c.label.label("previous_label"))
             .join(annotation_rows, annotation_rows.c.uid == r.c.annotation_uid)
             .join(samples, samples.c.id == annotation_rows.c.sample_id)
             .outerjoin(prev, and_(prev.c.annotation_uid == r.c.annotation_uid, prev.c.revision == r.c.revision - 1))
             .where(or_(r.c.action != "create", r.c.reason.is_(None), r.c.reason != "import")))
    if sample is not None:
        query = query.where(annotation_rows.c.sample_id == sample.id)
    if action is not None and action.startswith("annotation."):
        query = query.where(r.c.action == action.removeprefix("annotation."))
    if actor:
        query = query.where(r.c.author == actor)
    if since:
        query = query.where(r.c.changed_at >= since)

    def make(row: Any) -> LogEntry:
        return LogEntry(_utc(row["changed_at"]), row["author"], f"annotation.{row['action']}", row["path"],
                        row["reason"], {"annotation": row["annotation_uid"], "revision": row["revision"],
                                        "label": row["label"], "previous_label": row["previous_label"],
                                        "kind": row["kind"]})

    return _limited(query, r.c.changed_at, limit), make


def _imports(sample: Any, action: str | None, actor: str | None, since: datetime | None,
             limit: int | None) -> tuple[Select[Any] | None, Any]:
    if action is not None and action != "import":
        return None, None
    query = select(import_runs).where(import_runs.c.status == "committed")
    if sample is not None:
        query = query.where(import_runs.c.id == select(samples.c.import_id).where(samples.c.id == sample.id)
                            .scalar_subquery())
    if actor:
        query = query.where(import_runs.c.author == actor)
    if since:
        query = query.where(and_(import_runs.c.finished_at.is_not(None), import_runs.c.finished_at >= since))

    def make(row: Any) -> LogEntry:
        counts = dict(row["counts"] or {})
        return LogEntry(_utc(row["finished_at"] or row["started_at"]), row["author"], "import", row["source"], None,
                        {"import": row["id"], "format": row["format"],
                         **{k: counts[k] for k in ("added", "unchanged", "problems") if k in counts}})

    return _limited(query, import_runs.c.finished_at, limit), make
