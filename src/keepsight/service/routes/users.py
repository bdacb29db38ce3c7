"""Accounts of this dataset (admins) and the audit log of who did what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import StateConflict
from keepsight.service.policy import allow
from keepsight.service.schemas import AuditEntryOut, UserIn, UserOut, UserPatch
from keepsight.service.store import accounts, auditlog
from keepsight.service.store.accounts import Principal

router = APIRouter(tags=["users"])


def _out(row: dict[str, Any]) -> UserOut:
    return UserOut(id=row["id"], name=row["name"], role=row["role"], active=row["active"], created_at=row["created_at"])


@router.get("/users", response_model=list[UserOut])
def list_users(_: Principal = allow("users.list"), ctx: ServiceContext = Depends(get_context)) -> list[UserOut]:
    with ctx.ds.reading() as conn:
        return [_out(u) for u in accounts.list_users(conn, ctx.dataset_key)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, _: Principal = allow("users.manage"),
                ctx: ServiceContext = Depends(get_context)) -> UserOut:
    password_hash = ctx.passwords.hash(body.password) if body.password else None
    with ctx.ds.transaction() as conn:
        accounts.create_user(conn, name=body.name, password_hash=password_hash, role=body.role,
                             dataset=ctx.dataset_key)
        return _out(accounts.user_by_name(conn, body.name, ctx.dataset_key))


@router.patch("/users/{name}", response_model=UserOut)
def update_user(name: str, body: UserPatch, _: Principal = allow("users.manage"),
                ctx: ServiceContext = Depends(get_context)) -> UserOut:
    """Change a user's role, password or whether the account is active (disabling ends all its tokens)."""
    password_hash = ctx.passwords.hash(body.password) if body.password else None
    with ctx.ds.transaction() as conn:
        user = accounts.user_by_name(conn, name, ctx.dataset_key)
        demoted = user["role"] == "admin" and ((body.role not in (None, "admin")) or body.active is False)
        if demoted and user["active"] and accounts.count_admins(conn, ctx.dataset_key) <= 1:
            raise StateConflict(f"{name} is the last active admin; make another admin first")
        accounts.update_user(conn, user["id"], ctx.dataset_key, role=body.role, password_hash=password_hash,
                             active=body.active)
        return _out(accounts.user_by_name(conn, name, ctx.dataset_key))


@router.get("/audit-log", response_model=list[AuditEntryOut])
def audit_log(after: int = Query(0, ge=0, description="entries with a larger id (for paging)"),
              limit: int = Query(100, ge=1, le=1000), user: str | None = Query(None),
              _: Principal = allow("auditlog.read"),
              ctx: ServiceContext = Depends(get_context)) -> list[AuditEntryOut]:
    with ctx.ds.reading() as conn:
        return [AuditEntryOut(**row) for row in auditlog.read(conn, after=after, limit=limit, user=user)]
