"""Failed sign-ins, per key (a user name or a client address). Callers own the transaction."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from keepsight.storage.catalog.tables import svc_login_failures as failures


def record(conn: Connection, keys: list[tuple[str, str]], at: float) -> None:
    conn.execute(insert(failures), [{"kind": kind, "key": key, "at": at} for kind, key in keys])


def recent(conn: Connection, kind: str, key: str, *, since: float, limit: int) -> list[float]:
    """The first ``limit`` failure times of the key after ``since``, oldest first."""
    query = (
        select(failures.c.at)
        .where(failures.c.kind == kind, failures.c.key == key, failures.c.at > since)
        .order_by(failures.c.at)
        .limit(limit)
    )
    return [float(at) for at in conn.execute(query).scalars()]


def clear(conn: Connection, kind: str, key: str) -> None:
    conn.execute(delete(failures).where(failures.c.kind == kind, failures.c.key == key))


def prune(conn: Connection, *, before: float) -> None:
    """Forget failures that left every window: the table stays as small as the recent attacks."""
    conn.execute(delete(failures).where(failures.c.at <= before))
