"""Upload sessions (tus) and finished exports. Callers own the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from keepsight.service.errors import NotFound
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import svc_exports, svc_uploads


def insert_upload(conn: Connection, values: dict[str, Any]) -> None:
    at = now()
    conn.execute(insert(svc_uploads).values(**values, received=0, state="receiving", result=None, error=None,
                                            created_at=at, updated_at=at))


def get_upload(conn: Connection, upload_id: str) -> dict[str, Any]:
    row = conn.execute(select(svc_uploads).where(svc_uploads.c.id == upload_id)).mappings().first()
    if row is None:
        raise NotFound(f"no upload {upload_id}")
    return dict(row)


def advance_upload(conn: Connection, upload_id: str, *, offset: int, length: int) -> bool:
    """Move the upload's offset from ``offset`` to ``offset + length`` if it is still at ``offset``."""
    result = conn.execute(update(svc_uploads).where(svc_uploads.c.id == upload_id, svc_uploads.c.received == offset,
                                                    svc_uploads.c.state == "receiving")
                          .values(received=offset + length, updated_at=now()))
    return result.rowcount == 1


def finish_upload(conn: Connection, upload_id: str, *, state: str, result: dict[str, Any] | None = None,
                  error: str | None = None) -> None:
    conn.execute(update(svc_uploads).where(svc_uploads.c.id == upload_id)
                 .values(state=state, result=result, error=error, updated_at=now()))


def expired_uploads(conn: Connection, at: datetime) -> list[str]:
    rows = conn.execute(select(svc_uploads.c.id).where(svc_uploads.c.state == "receiving",
                                                       svc_uploads.c.expires_at < at))
    return [r[0] for r in rows]


def insert_export(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(svc_exports).values(**values, created_at=now()))


def get_export(conn: Connection, export_id: str) -> dict[str, Any]:
    row = conn.execute(select(svc_exports).where(svc_exports.c.id == export_id)).mappings().first()
    if row is None:
        raise NotFound(f"no export {export_id}")
    return dict(row)


def list_exports(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(svc_exports).order_by(svc_exports.c.created_at.desc())).mappings()]
