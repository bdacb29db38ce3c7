"""Read queries over the catalog. Everything here sees only committed, non-staged data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import Connection, func, select

from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import ClassSpec, LabelBook
from keepsight.storage.catalog.rows import annotation_from_row, sample_from_row
from keepsight.storage.catalog.tables import annotations as annotation_rows
from keepsight.storage.catalog.tables import classes, frozen_test, problems, samples

VISIBLE = ("active",)


def iter_samples(conn: Connection, *, statuses: tuple[str, ...] = VISIBLE, batch: int = 1000) -> Iterator[Sample]:
    """Samples in id order, fetched in batches so huge catalogs stream."""
    last = 0
    while True:
        rows = conn.execute(
            select(samples).where(samples.c.status.in_(statuses), samples.c.id > last).order_by(samples.c.id).limit(batch)
        ).mappings().all()
        if not rows:
            return
        for row in rows:
            yield sample_from_row(row)
        last = rows[-1]["id"]


def iter_samples_with_annotations(
    conn: Connection, *, statuses: tuple[str, ...] = VISIBLE, batch: int = 500
) -> Iterator[tuple[Sample, list[Annotation]]]:
    last = 0
    while True:
        rows = conn.execute(
            select(samples).where(samples.c.status.in_(statuses), samples.c.id > last).order_by(samples.c.id).limit(batch)
        ).mappings().all()
        if not rows:
            return
        ids = [r["id"] for r in rows]
        by_sample: dict[int, list[Annotation]] = defaultdict(list)
        for arow in conn.execute(
            select(annotation_rows).where(annotation_rows.c.sample_id.in_(ids), annotation_rows.c.deleted.is_(False))
            .order_by(annotation_rows.c.id)
        ).mappings():
            by_sample[arow["sample_id"]].append(annotation_from_row(arow))
        for row in rows:
            yield sample_from_row(row), by_sample.get(row["id"], [])
        last = ids[-1]


def sample_by_path(conn: Connection, path: str) -> Sample | None:
    row = conn.execute(select(samples).where(samples.c.path == path)).mappings().first()
    return sample_from_row(row) if row else None


def annotations_of(conn: Connection, sample_id: int) -> list[Annotation]:
    rows = conn.execute(
        select(annotation_rows).where(annotation_rows.c.sample_id == sample_id, annotation_rows.c.deleted.is_(False))
        .order_by(annotation_rows.c.id)
    ).mappings()
    return [annotation_from_row(r) for r in rows]


def load_labelbook(conn: Connection) -> LabelBook:
    book = LabelBook()
    for row in conn.execute(select(classes).order_by(classes.c.position)).mappings():
        book.classes[row["name"]] = ClassSpec.model_validate(row["spec"])
    return book


def count_samples(conn: Connection, *, statuses: tuple[str, ...] = VISIBLE) -> int:
    return int(conn.execute(select(func.count()).select_from(samples).where(samples.c.status.in_(statuses))).scalar_one())


def counts_by(conn: Connection, column: str) -> dict[str, int]:
    """Active samples counted by ``split`` or ``verdict`` (samples with no value are not counted)."""
    col = samples.c[column]
    rows = conn.execute(
        select(col, func.count()).where(samples.c.status.in_(VISIBLE)).group_by(col)
    ).all()
    return {str(k): int(n) for k, n in rows if k is not None}


def annotation_counts(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """(count per kind, count per class) over live annotations of active samples."""
    base = (
        select(annotation_rows.c.kind, annotation_rows.c.label, func.count())
        .join(samples, samples.c.id == annotation_rows.c.sample_id)
        .where(samples.c.status.in_(VISIBLE), annotation_rows.c.deleted.is_(False))
        .group_by(annotation_rows.c.kind, annotation_rows.c.label)
    )
    kinds: dict[str, int] = defaultdict(int)
    labels: dict[str, int] = defaultdict(int)
    for kind, label, n in conn.execute(base):
        kinds[kind] += int(n)
        labels[label] += int(n)
    return dict(kinds), dict(labels)


def list_problems(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(problems).order_by(problems.c.id)).mappings()
    return [dict(r) for r in rows]


def frozen_test_ids(conn: Connection) -> set[int]:
    """Sample ids of the frozen test set (empty when no test set is frozen)."""
    return {int(r[0]) for r in conn.execute(select(frozen_test.c.sample_id))}


def sample_splits(conn: Connection, *, statuses: tuple[str, ...] = VISIBLE) -> dict[int, str]:
    """sample id -> split, for the samples of the given statuses."""
    return {int(i): str(s) for i, s in conn.execute(select(samples.c.id, samples.c.split)
                                                     .where(samples.c.status.in_(statuses)))}
