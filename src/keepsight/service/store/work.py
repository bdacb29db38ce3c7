"""Tasks, jobs, job items, drafts, reviews and consensus rows. Callers own the transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from keepsight.service.errors import NotFound
from keepsight.service.planning import PlannedItem
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import (
    samples,
    svc_consensus,
    svc_drafts,
    svc_job_items,
    svc_jobs,
    svc_reviews,
    svc_tasks,
    svc_users,
)

OPEN_STATES = ("new", "in_progress", "rejected")  # the annotator still works on these


@dataclass(frozen=True)
class Job:
    id: int
    task_id: int
    position: int
    assignee_id: int | None
    assignee: str | None
    state: str
    deadline: datetime | None
    comment: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class Item:
    id: int
    job_id: int
    sample_id: int
    position: int
    role: str
    review: str
    review_comment: str | None
    gold_score: float | None
    committed_at: datetime | None


def _job_select() -> Any:
    return select(svc_jobs, svc_users.c.name.label("assignee")).outerjoin(
        svc_users, svc_users.c.id == svc_jobs.c.assignee_id)


def _job(row: Any) -> Job:
    return Job(row.id, row.task_id, row.position, row.assignee_id, row.assignee, row.state, row.deadline, row.comment,
               row.created_at, row.updated_at, row.submitted_at, row.reviewed_by, row.reviewed_at)


def _item(row: Any) -> Item:
    return Item(row.id, row.job_id, row.sample_id, row.position, row.role, row.review, row.review_comment,
                row.gold_score, row.committed_at)


# -- tasks --------------------------------------------------------------------------------

def insert_task(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(svc_tasks).values(**values, state="open", created_at=now())
                            .returning(svc_tasks.c.id)).scalar_one())


def insert_jobs(conn: Connection, task_id: int, planned: list[list[PlannedItem]], *, deadline: datetime | None,
                drafts: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> list[int]:
    """Jobs with their items and each item's draft; ``drafts`` gives (annotations, base) per normal sample."""
    at = now()
    job_ids = []
    for position, items in enumerate(planned):
        job_id = int(conn.execute(insert(svc_jobs).values(
            task_id=task_id, position=position, assignee_id=None, state="new", deadline=deadline, comment=None,
            created_at=at, updated_at=at).returning(svc_jobs.c.id)).scalar_one())
        job_ids.append(job_id)
        rows = [{"job_id": job_id, "sample_id": item.sample_id, "position": index, "role": item.role,
                 "review": "pending", "review_comment": None, "gold_score": None, "committed_at": None}
                for index, item in enumerate(items)]
        item_ids = conn.execute(insert(svc_job_items).returning(svc_job_items.c.id, sort_by_parameter_order=True),
                                rows).scalars().all()
        draft_rows = []
        for item_id, item in zip(item_ids, items, strict=True):
            content, base = drafts.get(item.sample_id, ([], [])) if item.role == "normal" else ([], [])
            draft_rows.append({"item_id": item_id, "annotations": content, "base": base, "revision": 0,
                               "updated_by": None, "updated_at": at})
        conn.execute(insert(svc_drafts), draft_rows)
    return job_ids


def insert_consensus(conn: Connection, task_id: int, bases: dict[int, list[dict[str, Any]]], copies: int) -> None:
    if bases:
        conn.execute(insert(svc_consensus), [
            {"task_id": task_id, "sample_id": s, "copies": copies, "state": "open", "base": base, "result": None}
            for s, base in bases.items()])


def get_task(conn: Connection, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(svc_tasks).where(svc_tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    return dict(row)


def list_tasks(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(svc_tasks).order_by(svc_tasks.c.id.desc())).mappings()]


def job_state_counts(conn: Connection, task_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(dict)
    if task_ids:
        rows = conn.execute(select(svc_jobs.c.task_id, svc_jobs.c.state, func.count()).where(
            svc_jobs.c.task_id.in_(task_ids)).group_by(svc_jobs.c.task_id, svc_jobs.c.state))
        for task_id, state, n in rows:
            out[int(task_id)][state] = int(n)
    return out


def close_task(conn: Connection, task_id: int) -> None:
    conn.execute(update(svc_tasks).where(svc_tasks.c.id == task_id).values(state="closed"))


# -- jobs ---------------------------------------------------------------------------------

def get_job(conn: Connection, job_id: int) -> Job:
    row = conn.execute(_job_select().where(svc_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no job {job_id}")
    return _job(row)


def list_jobs(conn: Connection, *, task_id: int | None = None, assignee_id: int | None = None,
              state: str | None = None) -> list[Job]:
    stmt = _job_select().order_by(svc_jobs.c.id)
    if task_id is not None:
        stmt = stmt.where(svc_jobs.c.task_id == task_id)
    if assignee_id is not None:
        stmt = stmt.where(svc_jobs.c.assignee_id == assignee_id)
    if state is not None:
        stmt = stmt.where(svc_jobs.c.state == state)
    return [_job(r) for r in conn.execute(stmt)]


def item_counts(conn: Connection, job_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per job: items by review state (gold items included under 'gold')."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for start in range(0, len(job_ids), 500):
        chunk = job_ids[start:start + 500]
        rows = conn.execute(select(svc_job_items.c.job_id, svc_job_items.c.review, func.count())
                            .where(svc_job_items.c.job_id.in_(chunk))
                            .group_by(svc_job_items.c.job_id, svc_job_items.c.review))
        for job_id, review, n in rows:
            out[int(job_id)][review] = int(n)
    return out


def set_job(conn: Connection, job_id: int, *, from_states: tuple[str, ...] | None = None, **values: Any) -> bool:
    """Change a job if it is (still) in one of ``from_states``; False when it was not."""
    stmt = update(svc_jobs).where(svc_jobs.c.id == job_id)
    if from_states is not None:
        stmt = stmt.where(svc_jobs.c.state.in_(from_states))
    return conn.execute(stmt.values(**values, updated_at=now())).rowcount == 1


def assign_job(conn: Connection, job_id: int, user_id: int | None, *, only_if_unassigned: bool = False) -> bool:
    stmt = update(svc_jobs).where(svc_jobs.c.id == job_id, svc_jobs.c.state.in_(OPEN_STATES))
    if only_if_unassigned:
        stmt = stmt.where(svc_jobs.c.assignee_id.is_(None))
    return conn.execute(stmt.values(assignee_id=user_id, updated_at=now())).rowcount == 1


def lock_task(conn: Connection, task_id: int) -> None:
    """Serialise assignment within one task (first statement of the transaction)."""
    if conn.execute(update(svc_tasks).where(svc_tasks.c.id == task_id).values(state=svc_tasks.c.state)).rowcount != 1:
        raise NotFound(f"no task {task_id}")


def holds_copy_elsewhere(conn: Connection, *, task_id: int, job_id: int, user_id: int, sample_ids: list[int]) -> bool:
    """Whether ``user_id`` holds, in another job of the task, a copy of one of these consensus samples."""
    if not sample_ids:
        return False
    row = conn.execute(select(svc_job_items.c.id).join(svc_jobs, svc_jobs.c.id == svc_job_items.c.job_id).where(
        svc_jobs.c.task_id == task_id, svc_jobs.c.id != job_id, svc_jobs.c.assignee_id == user_id,
        svc_job_items.c.role == "consensus", svc_job_items.c.sample_id.in_(sample_ids)).limit(1)).first()
    return row is not None


def open_load(conn: Connection) -> dict[int, int]:
    """Per annotator: images in jobs they still have to finish."""
    rows = conn.execute(select(svc_jobs.c.assignee_id, func.count(svc_job_items.c.id))
                        .join(svc_job_items, svc_job_items.c.job_id == svc_jobs.c.id)
                        .where(svc_jobs.c.assignee_id.is_not(None), svc_jobs.c.state.in_(OPEN_STATES))
                        .group_by(svc_jobs.c.assignee_id))
    return {int(u): int(n) for u, n in rows}


def consensus_holders(conn: Connection, task_id: int) -> dict[int, set[int]]:
    """consensus sample -> the users holding a copy of it in this task."""
    rows = conn.execute(select(svc_job_items.c.sample_id, svc_jobs.c.assignee_id)
                        .join(svc_jobs, svc_jobs.c.id == svc_job_items.c.job_id)
                        .where(svc_jobs.c.task_id == task_id, svc_job_items.c.role == "consensus",
                               svc_jobs.c.assignee_id.is_not(None)))
    out: dict[int, set[int]] = defaultdict(set)
    for sample_id, user_id in rows:
        out[int(sample_id)].add(int(user_id))
    return out


def consensus_samples_of_jobs(conn: Connection, job_ids: list[int]) -> dict[int, frozenset[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    if job_ids:
        rows = conn.execute(select(svc_job_items.c.job_id, svc_job_items.c.sample_id).where(
            svc_job_items.c.job_id.in_(job_ids), svc_job_items.c.role == "consensus"))
        for job_id, sample_id in rows:
            out[int(job_id)].add(int(sample_id))
    return {j: frozenset(out.get(j, set())) for j in job_ids}


# -- items and drafts ---------------------------------------------------------------------

def items_of(conn: Connection, job_id: int) -> list[tuple[Item, dict[str, Any]]]:
    """A job's items in order, each with its sample's path and size."""
    rows = conn.execute(select(svc_job_items, samples.c.path, samples.c.width, samples.c.height)
                        .join(samples, samples.c.id == svc_job_items.c.sample_id)
                        .where(svc_job_items.c.job_id == job_id).order_by(svc_job_items.c.position))
    return [(_item(r), {"path": r.path, "width": r.width, "height": r.height}) for r in rows]


def get_item(conn: Connection, job_id: int, item_id: int) -> Item:
    row = conn.execute(select(svc_job_items).where(svc_job_items.c.id == item_id,
                                                   svc_job_items.c.job_id == job_id)).first()
    if row is None:
        raise NotFound(f"job {job_id} has no item {item_id}")
    return _item(row)


def set_item(conn: Connection, item_id: int, **values: Any) -> None:
    conn.execute(update(svc_job_items).where(svc_job_items.c.id == item_id).values(**values))


def get_draft(conn: Connection, item_id: int) -> dict[str, Any]:
    row = conn.execute(select(svc_drafts).where(svc_drafts.c.item_id == item_id)).mappings().first()
    if row is None:
        raise NotFound(f"item {item_id} has no draft")
    return dict(row)


def swap_draft(conn: Connection, item_id: int, *, base_revision: int, annotations: list[dict[str, Any]],
               by: str) -> bool:
    """Compare-and-swap: store ``annotations`` if the draft is still at ``base_revision``."""
    result = conn.execute(update(svc_drafts).where(svc_drafts.c.item_id == item_id,
                                                   svc_drafts.c.revision == base_revision)
                          .values(annotations=annotations, revision=base_revision + 1, updated_by=by,
                                  updated_at=now()))
    return result.rowcount == 1


def record_review(conn: Connection, *, job_id: int, item_id: int | None, reviewer: str, decision: str,
                  comment: str | None) -> None:
    conn.execute(insert(svc_reviews).values(job_id=job_id, item_id=item_id, reviewer=reviewer, decision=decision,
                                            comment=comment, at=now()))


def reviews_of(conn: Connection, job_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(svc_reviews).where(svc_reviews.c.job_id == job_id).order_by(svc_reviews.c.id))
    return [dict(r) for r in rows.mappings()]


# -- consensus ----------------------------------------------------------------------------

def consensus_rows(conn: Connection, task_id: int | None) -> list[dict[str, Any]]:
    stmt = select(svc_consensus).order_by(svc_consensus.c.id)
    if task_id is not None:
        stmt = stmt.where(svc_consensus.c.task_id == task_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def consensus_copies(conn: Connection, task_id: int | None, *, sample_ids: list[int] | None = None,
                     usable_only: bool = True) -> dict[int, list[dict[str, Any]]]:
    """consensus sample -> its copies: {user, item_id, review, job_state, annotations}.

    ``usable_only`` keeps copies whose job was submitted or accepted and that no reviewer rejected.
    """
    stmt = (select(svc_job_items.c.sample_id, svc_job_items.c.id.label("item_id"), svc_job_items.c.review,
                   svc_jobs.c.state.label("job_state"), svc_jobs.c.task_id, svc_users.c.name.label("user"),
                   svc_drafts.c.annotations)
            .join(svc_jobs, svc_jobs.c.id == svc_job_items.c.job_id)
            .join(svc_drafts, svc_drafts.c.item_id == svc_job_items.c.id)
            .outerjoin(svc_users, svc_users.c.id == svc_jobs.c.assignee_id)
            .where(svc_job_items.c.role == "consensus").order_by(svc_job_items.c.id))
    if task_id is not None:
        stmt = stmt.where(svc_jobs.c.task_id == task_id)
    if sample_ids is not None:
        stmt = stmt.where(svc_job_items.c.sample_id.in_(sample_ids))
    if usable_only:
        stmt = stmt.where(svc_jobs.c.state.in_(("submitted", "accepted")), svc_job_items.c.review != "rejected")
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(stmt).mappings():
        out[int(row["sample_id"])].append(dict(row))
    return out


def mark_merged(conn: Connection, consensus_id: int, *, result: list[dict[str, Any]], by: str) -> bool:
    done = conn.execute(update(svc_consensus).where(and_(svc_consensus.c.id == consensus_id,
                                                         svc_consensus.c.state == "open"))
                        .values(state="merged", result=result, merged_by=by, merged_at=now()))
    return done.rowcount == 1


# -- quality inputs -----------------------------------------------------------------------

def gold_scores(conn: Connection) -> dict[str, list[float]]:
    rows = conn.execute(select(svc_users.c.name, svc_job_items.c.gold_score)
                        .join(svc_jobs, svc_jobs.c.id == svc_job_items.c.job_id)
                        .join(svc_users, svc_users.c.id == svc_jobs.c.assignee_id)
                        .where(svc_job_items.c.role == "gold", svc_job_items.c.gold_score.is_not(None)))
    out: dict[str, list[float]] = defaultdict(list)
    for name, score in rows:
        out[name].append(float(score))
    return out


def review_decisions(conn: Connection) -> dict[str, dict[str, int]]:
    """Per annotator (the job's assignee): item-level accepts and rejects."""
    rows = conn.execute(select(svc_users.c.name, svc_reviews.c.decision, func.count())
                        .join(svc_jobs, svc_jobs.c.id == svc_reviews.c.job_id)
                        .join(svc_users, svc_users.c.id == svc_jobs.c.assignee_id)
                        .where(svc_reviews.c.item_id.is_not(None))
                        .group_by(svc_users.c.name, svc_reviews.c.decision))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for name, decision, n in rows:
        out[name][decision] = int(n)
    return out


def jobs_with_sample(conn: Connection, sample_id: int, user_id: int) -> bool:
    """Whether ``user_id`` has a job holding ``sample_id``."""
    row = conn.execute(select(svc_job_items.c.id).join(svc_jobs, svc_jobs.c.id == svc_job_items.c.job_id)
                       .where(svc_job_items.c.sample_id == sample_id, svc_jobs.c.assignee_id == user_id).limit(1)).first()
    return row is not None
