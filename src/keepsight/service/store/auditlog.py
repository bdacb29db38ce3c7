"""The service's audit log: append-only (the migration adds triggers refusing UPDATE and DELETE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import svc_audit_log


def append(conn: Connection, *, user: str | None, role: str | None, method: str, path: str, action: str, status: int,
           details: dict[str, Any]) -> None:
    conn.execute(insert(svc_audit_log).values(at=now(), user_name=user, role=role, method=method, path=path,
                                              action=action, status=status, details=details))


def read(conn: Connection, *, after: int = 0, limit: int = 100, user: str | None = None) -> list[dict[str, Any]]:
    stmt = select(svc_audit_log).where(svc_audit_log.c.id > after).order_by(svc_audit_log.c.id).limit(limit)
    if user is not None:
        stmt = stmt.where(svc_audit_log.c.user_name == user)
    return [dict(r) for r in conn.execute(stmt).mappings()]
