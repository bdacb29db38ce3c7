"""Catalog reads the service needs beyond ``keepsight.storage.catalog.queries``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from keepsight.model.annotation import Sample
from keepsight.service.annotations import to_dict
from keepsight.service.errors import NotFound
from keepsight.storage.catalog.rows import annotation_from_row, sample_from_row
from keepsight.storage.catalog.tables import annotations as annotation_rows
from keepsight.storage.catalog.tables import samples


def active_sample(conn: Connection, sample_id: int) -> Sample:
    row = conn.execute(select(samples).where(samples.c.id == sample_id, samples.c.status == "active")).mappings().first()
    if row is None:
        raise NotFound(f"no active sample {sample_id}")
    return sample_from_row(row)


def page_of_samples(conn: Connection, *, after: int, limit: int, split: str | None) -> list[Sample]:
    stmt = select(samples).where(samples.c.status == "active", samples.c.id > after).order_by(samples.c.id).limit(limit)
    if split is not None:
        stmt = stmt.where(samples.c.split == split)
    return [sample_from_row(r) for r in conn.execute(stmt).mappings()]


def annotation_counts(conn: Connection, sample_ids: list[int]) -> dict[int, int]:
    if not sample_ids:
        return {}
    rows = conn.execute(select(annotation_rows.c.sample_id, func.count()).where(
        annotation_rows.c.sample_id.in_(sample_ids), annotation_rows.c.deleted.is_(False)).group_by(annotation_rows.c.sample_id))
    return {int(s): int(n) for s, n in rows}


def snapshots(conn: Connection, sample_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The live annotations of many samples, as API dicts (with their catalog revisions)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = sorted(set(sample_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(select(annotation_rows).where(annotation_rows.c.sample_id.in_(chunk), annotation_rows.c.deleted.is_(False))
                            .order_by(annotation_rows.c.id)).mappings()
        for row in rows:
            out[int(row["sample_id"])].append(to_dict(annotation_from_row(row)))
    return {s: out.get(s, []) for s in ids}
