"""Users, their membership (role) in this dataset, and their tokens. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from keepsight.errors import DatasetError
from keepsight.service.errors import NotFound
from keepsight.service.roles import ROLES, Role
from keepsight.service.security import new_token, token_hash
from keepsight.storage.catalog.rows import now
from keepsight.storage.catalog.tables import svc_api_tokens, svc_memberships, svc_users

TOUCH_EVERY = timedelta(minutes=5)  # last_used_at is refreshed at most this often: reads stay reads


@dataclass(frozen=True)
class Principal:
    """The caller of a request: who, with which role here, through which token."""

    user_id: int
    name: str
    role: Role
    token_id: int


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise DatasetError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def check_name(name: str) -> str:
    if not name or len(name) > 128 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise DatasetError(f"user name {name!r} must be 1-128 letters, digits, '-', '_' or '.'")
    return name


def create_user(conn: Connection, *, name: str, password_hash: str | None, role: Role, dataset: str) -> int:
    check_name(name)
    if conn.execute(select(svc_users.c.id).where(svc_users.c.name == name)).first() is not None:
        raise DatasetError(f"user {name!r} already exists")
    at = now()
    user_id = int(conn.execute(insert(svc_users).values(
        name=name, password_hash=password_hash, active=True, created_at=at).returning(svc_users.c.id)).scalar_one())
    conn.execute(insert(svc_memberships).values(user_id=user_id, dataset=dataset, role=check_role(role), created_at=at))
    return user_id


def list_users(conn: Connection, dataset: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(svc_users.c.id, svc_users.c.name, svc_users.c.active, svc_users.c.created_at, svc_memberships.c.role)
        .join(svc_memberships, and_(svc_memberships.c.user_id == svc_users.c.id, svc_memberships.c.dataset == dataset))
        .order_by(svc_users.c.name)
    ).mappings()
    return [dict(r) for r in rows]


def user_by_name(conn: Connection, name: str, dataset: str) -> dict[str, Any]:
    row = conn.execute(
        select(svc_users, svc_memberships.c.role)
        .join(svc_memberships, and_(svc_memberships.c.user_id == svc_users.c.id, svc_memberships.c.dataset == dataset))
        .where(svc_users.c.name == name)
    ).mappings().first()
    if row is None:
        raise NotFound(f"no user {name!r} in this dataset")
    return dict(row)


def update_user(conn: Connection, user_id: int, dataset: str, *, role: Role | None = None,
                password_hash: str | None = None, active: bool | None = None) -> None:
    if role is not None:
        conn.execute(update(svc_memberships).where(svc_memberships.c.user_id == user_id,
                                                   svc_memberships.c.dataset == dataset).values(role=check_role(role)))
    values: dict[str, Any] = {}
    if password_hash is not None:
        values["password_hash"] = password_hash
    if active is not None:
        values["active"] = active
    if values:
        conn.execute(update(svc_users).where(svc_users.c.id == user_id).values(**values))
    if password_hash is not None or active is False:
        # A new password or a disabled account ends every session; API tokens end only when disabled.
        kinds = ["session", "api"] if active is False else ["session"]
        conn.execute(update(svc_api_tokens).where(svc_api_tokens.c.user_id == user_id,
                                                  svc_api_tokens.c.kind.in_(kinds)).values(revoked=True))


def count_admins(conn: Connection, dataset: str) -> int:
    return int(conn.execute(
        select(func.count()).select_from(svc_memberships.join(svc_users, svc_users.c.id == svc_memberships.c.user_id))
        .where(svc_memberships.c.dataset == dataset, svc_memberships.c.role == "admin", svc_users.c.active.is_(True))
    ).scalar_one())


def issue_token(conn: Connection, user_id: int, *, name: str, kind: str, lifetime: timedelta | None) -> tuple[int, str,
                                                                                                            datetime | None]:
    """A new token: (id, the token itself — shown once, never stored —, expiry)."""
    token = new_token()
    at = now()
    expires = at + lifetime if lifetime is not None else None
    token_id = int(conn.execute(insert(svc_api_tokens).values(
        user_id=user_id, name=name[:128], kind=kind, token_hash=token_hash(token), created_at=at, expires_at=expires,
        last_used_at=None, revoked=False).returning(svc_api_tokens.c.id)).scalar_one())
    return token_id, token, expires


def principal_for(conn: Connection, token: str, dataset: str) -> tuple[Principal, datetime | None] | None:
    """The principal a token stands for (and when it was last used), or None if it is not valid now."""
    at = now()
    row = conn.execute(
        select(svc_api_tokens.c.id, svc_api_tokens.c.last_used_at, svc_users.c.id.label("user_id"), svc_users.c.name,
               svc_memberships.c.role)
        .join(svc_users, svc_users.c.id == svc_api_tokens.c.user_id)
        .join(svc_memberships, and_(svc_memberships.c.user_id == svc_users.c.id, svc_memberships.c.dataset == dataset))
        .where(svc_api_tokens.c.token_hash == token_hash(token), svc_api_tokens.c.revoked.is_(False),
               svc_users.c.active.is_(True),
               or_(svc_api_tokens.c.expires_at.is_(None), svc_api_tokens.c.expires_at > at))
    ).first()
    if row is None:
        return None
    return Principal(row.user_id, row.name, row.role, row.id), row.last_used_at


def touch_token(conn: Connection, token_id: int) -> None:
    conn.execute(update(svc_api_tokens).where(svc_api_tokens.c.id == token_id).values(last_used_at=now()))


def list_tokens(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(svc_api_tokens.c.id, svc_api_tokens.c.name, svc_api_tokens.c.kind, svc_api_tokens.c.created_at,
               svc_api_tokens.c.expires_at, svc_api_tokens.c.last_used_at, svc_api_tokens.c.revoked)
        .where(svc_api_tokens.c.user_id == user_id).order_by(svc_api_tokens.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, token_id: int, *, user_id: int) -> None:
    result = conn.execute(update(svc_api_tokens).where(svc_api_tokens.c.id == token_id,
                                                       svc_api_tokens.c.user_id == user_id).values(revoked=True))
    if result.rowcount != 1:
        raise NotFound(f"you have no token {token_id}")
