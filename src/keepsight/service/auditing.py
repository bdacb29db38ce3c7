"""The audit log middleware: every change, sign-in and refusal is written down with who and what.

Recorded: every request that is not a read (GET, HEAD, OPTIONS), and every request refused
with 401 or 403, whatever its method. The policy dependencies leave the caller and the
action in the request state; this middleware reads them after the response is sent.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keepsight.service.context import ServiceContext
from keepsight.service.store import auditlog

READS = {"GET", "HEAD", "OPTIONS"}
SKIPPED_PATHS = {"/health"}


class AuditLogMiddleware:
    def __init__(self, app: ASGIApp, ctx: ServiceContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in SKIPPED_PATHS:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            if scope["method"] not in READS or status in (401, 403):
                await anyio.to_thread.run_sync(self._write, scope, state, status)

    def _write(self, scope: Scope, state: dict[str, Any], status: int) -> None:
        principal = state.get("principal")
        details = {k: state[k] for k in ("error",) if k in state}
        user = principal.name if principal is not None else state.get("audit_user")
        with self.ctx.ds.transaction() as conn:
            auditlog.append(conn, user=user, role=principal.role if principal is not None else None,
                            method=scope["method"], path=scope["path"], action=state.get("action", "unrouted"),
                            status=status, details=details)
