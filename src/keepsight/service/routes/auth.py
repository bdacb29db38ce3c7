"""Signing in and out, and the caller's own API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request, Response

from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import NotAuthenticated, NotFound
from keepsight.service.policy import COOKIE_NAME, allow, public
from keepsight.service.schemas import LoginIn, LoginOut, MeOut, Ok, TokenCreatedOut, TokenIn, TokenOut
from keepsight.service.store import accounts
from keepsight.service.store.accounts import Principal

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=LoginOut, dependencies=[public()],
             responses={401: {"description": "wrong user name or password"},
                        429: {"description": "too many failed sign-ins for this name or address; see Retry-After"}})
def login(body: LoginIn, request: Request, response: Response, ctx: ServiceContext = Depends(get_context)) -> LoginOut:
    """Exchange a password for a token (also set as an HttpOnly session cookie for the browser page)."""
    request.state.audit_user = body.name
    address = request.client.host if request.client else "unknown"
    ctx.logins.check(body.name, address)
    with ctx.ds.reading() as conn:
        try:
            user = accounts.user_by_name(conn, body.name, ctx.dataset_key)
        except NotFound:
            user = None
    if user is None:
        ctx.passwords.verify(ctx.passwords.decoy(), body.password)
        ctx.logins.failed(body.name, address)
        raise NotAuthenticated("wrong user name or password")
    if not user["active"] or not ctx.passwords.verify(user["password_hash"], body.password):
        ctx.logins.failed(body.name, address)
        raise NotAuthenticated("wrong user name or password")
    ctx.logins.succeeded(body.name)
    hours = ctx.settings.session_hours
    with ctx.ds.transaction() as conn:
        if ctx.passwords.needs_rehash(user["password_hash"]):
            accounts.update_user(conn, user["id"], ctx.dataset_key, password_hash=ctx.passwords.hash(body.password))
        _, token, expires = accounts.issue_token(conn, user["id"], name="login", kind="session",
                                                 lifetime=timedelta(hours=hours))
    response.set_cookie(COOKIE_NAME, token, max_age=int(hours * 3600), httponly=True, samesite="strict",
                        secure=ctx.settings.secure_cookies)
    return LoginOut(token=token, expires_at=expires, user=user["name"], role=user["role"])


@router.post("/auth/logout", response_model=Ok)
def logout(response: Response, principal: Principal = allow("session.end"),
           ctx: ServiceContext = Depends(get_context)) -> Ok:
    """Revoke the token this request was made with."""
    with ctx.ds.transaction() as conn:
        accounts.revoke_token(conn, principal.token_id, user_id=principal.user_id)
    response.delete_cookie(COOKIE_NAME)
    return Ok()


@router.get("/auth/me", response_model=MeOut)
def me(principal: Principal = allow("session.read"), ctx: ServiceContext = Depends(get_context)) -> MeOut:
    return MeOut(user=principal.name, role=principal.role, dataset=ctx.dataset_key, token_id=principal.token_id)


@router.get("/auth/tokens", response_model=list[TokenOut])
def list_tokens(principal: Principal = allow("tokens.own"), ctx: ServiceContext = Depends(get_context)) -> list[TokenOut]:
    with ctx.ds.reading() as conn:
        return [TokenOut(**t) for t in accounts.list_tokens(conn, principal.user_id)]


@router.post("/auth/tokens", response_model=TokenCreatedOut, status_code=201)
def create_token(body: TokenIn, principal: Principal = allow("tokens.own"),
                 ctx: ServiceContext = Depends(get_context)) -> TokenCreatedOut:
    """A long-lived API token for scripts; the token is shown in this response only."""
    lifetime = timedelta(days=body.days) if body.days is not None else None
    with ctx.ds.transaction() as conn:
        token_id, token, expires = accounts.issue_token(conn, principal.user_id, name=body.name, kind="api",
                                                        lifetime=lifetime)
    return TokenCreatedOut(id=token_id, name=body.name, token=token, expires_at=expires)


@router.delete("/auth/tokens/{token_id}", response_model=Ok)
def revoke_token(token_id: int, principal: Principal = allow("tokens.own"),
                 ctx: ServiceContext = Depends(get_context)) -> Ok:
    with ctx.ds.transaction() as conn:
        accounts.revoke_token(conn, token_id, user_id=principal.user_id)
    return Ok()
