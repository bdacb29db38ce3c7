"""Authentication and authorisation as FastAPI dependencies, driven by the table in ``roles.py``.

Every route takes exactly one of these dependencies (the authorisation matrix test checks
it): :func:`allow` (a role check), :func:`job_access` / :func:`item_access` (a role check,
then the job must be the caller's own for roles the rule narrows), :func:`public` or
:func:`signed` (no account: nothing to check, or a signed link the route verifies).

Credentials: ``Authorization: Bearer <token>`` (API tokens and login tokens), or the
``keepsight_session`` cookie a browser gets from ``POST /auth/login``. A cookie-authenticated
request that changes something must also send ``X-Requested-With: keepsight``: a header other
sites cannot make a browser send, so the cookie alone cannot be used for cross-site forgery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import NotAuthenticated, PermissionDenied
from keepsight.service.roles import POLICY, PUBLIC, SIGNED
from keepsight.service.store import accounts, work
from keepsight.service.store.accounts import TOUCH_EVERY, Principal
from keepsight.service.store.work import Item, Job
from keepsight.storage.catalog.rows import now

COOKIE_NAME = "keepsight_session"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "keepsight"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_bearer = HTTPBearer(auto_error=False, description="An API token, or the token POST /auth/login returns.")
_cookie = APIKeyCookie(name=COOKIE_NAME, auto_error=False, description="The browser session set by POST /auth/login.")


def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    cookie: str | None = Depends(_cookie),
    ctx: ServiceContext = Depends(get_context),
) -> Principal:
    token = credentials.credentials if credentials is not None else cookie
    if not token:
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <token>' (POST /auth/login gives one)")
    if credentials is None and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise PermissionDenied(f"a change made with the session cookie needs the header '{CSRF_HEADER}: {CSRF_VALUE}'")
    with ctx.ds.reading() as conn:
        found = accounts.principal_for(conn, token, ctx.dataset_key)
    if found is None:
        raise NotAuthenticated("the token is unknown, expired or revoked; sign in again")
    principal, last_used = found
    if last_used is None or now() - _aware(last_used) > TOUCH_EVERY:
        with ctx.ds.transaction() as conn:
            accounts.touch_token(conn, principal.token_id)
    request.state.principal = principal
    return principal


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _check_role(action: str, principal: Principal) -> None:
    rule = POLICY[action]
    if principal.role not in rule.roles:
        raise PermissionDenied(f"a {principal.role} may not {rule.doing}")


def _marker(action: str) -> Callable[[Request], None]:
    """Runs before authentication, so even a refused request is logged under its action."""

    def mark(request: Request) -> None:
        request.state.action = action

    return mark


def _tag(dependency: Callable[..., Any], action: str) -> Any:
    dependency.keepsight_action = action  # type: ignore[attr-defined]
    return Depends(dependency)


def allow(action: str) -> Any:
    """The caller, if their role may do ``action``."""
    POLICY[action]  # an unknown action fails at import time, not at request time

    def check(_: None = Depends(_marker(action)), principal: Principal = Depends(authenticate)) -> Principal:
        _check_role(action, principal)
        return principal

    return _tag(check, action)


@dataclass(frozen=True)
class JobAccess:
    principal: Principal
    job: Job


@dataclass(frozen=True)
class ItemAccess:
    principal: Principal
    job: Job
    item: Item


def _own_job(action: str, principal: Principal, job: Job) -> None:
    if principal.role in POLICY[action].own_jobs and job.assignee_id != principal.user_id:
        raise PermissionDenied(f"job {job.id} is not assigned to you")


def job_access(action: str) -> Any:
    """The caller and the job ``{job_id}``, if the role may do ``action`` on it."""
    POLICY[action]

    def check(job_id: int, _: None = Depends(_marker(action)), principal: Principal = Depends(authenticate),
              ctx: ServiceContext = Depends(get_context)) -> JobAccess:
        _check_role(action, principal)
        with ctx.ds.reading() as conn:
            job = work.get_job(conn, job_id)
        _own_job(action, principal, job)
        return JobAccess(principal, job)

    return _tag(check, action)


def item_access(action: str) -> Any:
    """The caller, the job ``{job_id}`` and its item ``{item_id}``, if the role may do ``action``."""
    POLICY[action]

    def check(job_id: int, item_id: int, _: None = Depends(_marker(action)),
              principal: Principal = Depends(authenticate), ctx: ServiceContext = Depends(get_context)) -> ItemAccess:
        _check_role(action, principal)
        with ctx.ds.reading() as conn:
            job = work.get_job(conn, job_id)
            _own_job(action, principal, job)
            item = work.get_item(conn, job_id, item_id)
        return ItemAccess(principal, job, item)

    return _tag(check, action)


def public(action: str = PUBLIC) -> Any:
    """No account needed (``signed``: the route itself verifies a signed link)."""

    return _tag(_marker(action), action)


def signed() -> Any:
    return public(SIGNED)


def route_action(route: Any) -> str | None:
    """The policy action a route declares (None if it declares none): for tests and docs."""
    for dep in route.dependant.dependencies:
        action = getattr(dep.call, "keepsight_action", None)
        if action is not None:
            return str(action)
    return None
