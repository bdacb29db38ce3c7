"""Gold answers and the label book's example images. Callers own the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from keepsight.errors import DatasetError
from keepsight.service.errors import NotFound
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import samples, svc_class_examples, svc_gold


def gold_answers(conn: Connection, sample_ids: list[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    stmt = select(svc_gold.c.sample_id, svc_gold.c.annotations)
    if sample_ids is not None:
        stmt = stmt.where(svc_gold.c.sample_id.in_(sample_ids))
    return {int(s): list(a) for s, a in conn.execute(stmt)}


def list_gold(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(svc_gold, samples.c.path).join(samples, samples.c.id == svc_gold.c.sample_id)
                        .order_by(svc_gold.c.sample_id)).mappings()
    return [dict(r) for r in rows]


def put_gold(conn: Connection, sample_id: int, annotations: list[dict[str, Any]], by: str) -> None:
    values = {"annotations": annotations, "updated_by": by, "updated_at": now()}
    if conn.execute(update(svc_gold).where(svc_gold.c.sample_id == sample_id).values(**values)).rowcount == 0:
        conn.execute(insert(svc_gold).values(sample_id=sample_id, **values))


def delete_gold(conn: Connection, sample_id: int) -> None:
    if conn.execute(delete(svc_gold).where(svc_gold.c.sample_id == sample_id)).rowcount == 0:
        raise NotFound(f"sample {sample_id} has no gold answer")


def examples(conn: Connection, class_name: str | None = None) -> list[dict[str, Any]]:
    stmt = (select(svc_class_examples, samples.c.path, samples.c.width, samples.c.height)
            .join(samples, samples.c.id == svc_class_examples.c.sample_id).order_by(svc_class_examples.c.id))
    if class_name is not None:
        stmt = stmt.where(svc_class_examples.c.class_name == class_name)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def add_example(conn: Connection, *, class_name: str, sample_id: int, counter: bool, note: str, by: str) -> int:
    exists = conn.execute(select(svc_class_examples.c.id).where(svc_class_examples.c.class_name == class_name,
                                                                svc_class_examples.c.sample_id == sample_id)).first()
    if exists is not None:
        raise DatasetError(f"sample {sample_id} is already an example of {class_name!r} (example {exists[0]})")
    return int(conn.execute(insert(svc_class_examples).values(
        class_name=class_name, sample_id=sample_id, counter=counter, note=note, added_by=by,
        added_at=now()).returning(svc_class_examples.c.id)).scalar_one())


def get_example(conn: Connection, example_id: int) -> dict[str, Any]:
    row = conn.execute(select(svc_class_examples).where(svc_class_examples.c.id == example_id)).mappings().first()
    if row is None:
        raise NotFound(f"no label-book example {example_id}")
    return dict(row)


def delete_example(conn: Connection, class_name: str, example_id: int) -> None:
    done = conn.execute(delete(svc_class_examples).where(svc_class_examples.c.id == example_id,
                                                         svc_class_examples.c.class_name == class_name))
    if done.rowcount == 0:
        raise NotFound(f"class {class_name!r} has no example {example_id}")
