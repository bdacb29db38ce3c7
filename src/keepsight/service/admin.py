"""Account administration without a running server: the first admin, tokens for scripts.

``keepsight user ...`` calls these; they open the catalog directly, so they work before any
account exists (which is how the first admin is made).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from keepsight.dataset import Dataset
from keepsight.service.config import ServiceConfig
from keepsight.service.roles import Role
from keepsight.service.security import Passwords
from keepsight.service.store import accounts


def _settings(ds: Dataset) -> ServiceConfig:
    return ds.config.service


def add_user(ds: Dataset, name: str, *, role: Role, password: str | None) -> None:
    """Create an account with a role in this dataset (no password: it signs in by API token only)."""
    password_hash = Passwords(_settings(ds)).hash(password) if password is not None else None
    with ds.transaction() as conn:
        accounts.create_user(conn, name=name, password_hash=password_hash, role=accounts.check_role(role),
                             dataset=ds.config.name)


def list_users(ds: Dataset) -> list[dict[str, Any]]:
    with ds.reading() as conn:
        return accounts.list_users(conn, ds.config.name)


def set_user(ds: Dataset, name: str, *, role: Role | None = None, active: bool | None = None,
             password: str | None = None) -> None:
    password_hash = Passwords(_settings(ds)).hash(password) if password is not None else None
    with ds.transaction() as conn:
        user = accounts.user_by_name(conn, name, ds.config.name)
        accounts.update_user(conn, user["id"], ds.config.name, role=accounts.check_role(role) if role else None,
                             password_hash=password_hash, active=active)


def issue_api_token(ds: Dataset, name: str, *, token_name: str, days: float | None) -> tuple[str, datetime | None]:
    """A new API token for ``name`` (shown once; only its hash is kept) and its expiry."""
    with ds.transaction() as conn:
        user = accounts.user_by_name(conn, name, ds.config.name)
        _, token, expires = accounts.issue_token(conn, user["id"], name=token_name, kind="api",
                                                 lifetime=timedelta(days=days) if days else None)
    return token, expires


def count_admins(ds: Dataset) -> int:
    with ds.reading() as conn:
        return accounts.count_admins(conn, ds.config.name)
