"""The application factory: one FastAPI app serving one dataset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from keepsight import __version__
from keepsight.dataset import Dataset
from keepsight.errors import KeepsightError
from keepsight.service.auditing import AuditLogMiddleware
from keepsight.service.config import ServiceConfig
from keepsight.service.context import ServiceContext
from keepsight.service.errors import PreconditionFailed, RevisionConflict, TooManyRequests, status_of
from keepsight.service.routes import (
    auth,
    exports,
    gold,
    jobs,
    labelbook,
    masks,
    pages,
    samples,
    system,
    tasks,
    uploads,
    users,
)
from keepsight.service.security import Passwords, load_secret
from keepsight.service.transfers.uploads import TUS_VERSION

STATIC_DIR = Path(__file__).with_name("static")
ROUTERS = (system.router, auth.router, users.router, samples.router, labelbook.router, tasks.router, jobs.router,
           masks.router, gold.router, uploads.router, exports.router, pages.router)
TAGS = [
    {"name": "system", "description": "liveness and a summary of the dataset"},
    {"name": "auth", "description": "password sign-in (argon2id), session cookie, API tokens"},
    {"name": "users", "description": "accounts and roles in this dataset; the audit log"},
    {"name": "samples", "description": "catalog images and their accepted annotations (optimistic locking)"},
    {"name": "labelbook", "description": "per-class rules, tools, orientation, examples and counter-examples"},
    {"name": "tasks", "description": "tasks from queries, jobs, assignment by load, consensus merge, agreement"},
    {"name": "jobs", "description": "jobs, their images, drafts (autosave with revisions), review"},
    {"name": "gold", "description": "gold images with known answers"},
    {"name": "uploads", "description": "tus 1.0 resumable uploads with sha256 checksums"},
    {"name": "exports", "description": "exports downloaded through signed, expiring links"},
]


def create_app(dataset: Dataset | Path | str, *, settings: ServiceConfig | None = None) -> FastAPI:
    """The service over ``dataset``; a folder given by path is opened here and closed at shutdown."""
    owns = not isinstance(dataset, Dataset)
    ds = Dataset.open(dataset) if not isinstance(dataset, Dataset) else dataset
    settings = settings or ds.config.service
    ctx = ServiceContext(ds, settings, load_secret(ds.root), Passwords(settings), owns_dataset=owns)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if ctx.owns_dataset:
            ds.close()

    app = FastAPI(title="keepsight", version=__version__, lifespan=lifespan, openapi_tags=TAGS,
                  description=f"The team service over the dataset '{ds.config.name}'. See docs/service.md.")
    app.state.keepsight = ctx
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(KeepsightError, _keepsight_error)  # type: ignore[arg-type]
    app.add_middleware(AuditLogMiddleware, ctx=ctx)
    # The browser annotation page lives here (index.html and its assets); see static/README.md.
    app.mount("/static", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app


def service_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app, flattened: ``app.routes`` holds included routers as one entry each."""

    def flatten(routes: list[BaseRoute]) -> list[BaseRoute]:
        out: list[BaseRoute] = []
        for route in routes:
            included = getattr(route, "original_router", None)
            out += flatten(list(included.routes)) if included is not None else [route]
        return out

    return flatten(list(app.routes))


async def _keepsight_error(request: Request, exc: KeepsightError) -> JSONResponse:
    status = status_of(exc)
    body: dict[str, object] = {"detail": exc.message, "code": exc.code}
    if isinstance(exc, RevisionConflict):
        body |= {"revision": exc.revision, "annotations": exc.annotations}
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if request.url.path.startswith("/uploads"):
        headers["Tus-Resumable"] = TUS_VERSION
        if isinstance(exc, PreconditionFailed):
            headers["Tus-Version"] = TUS_VERSION
    request.state.error = exc.message
    return JSONResponse(body, status_code=status, headers=headers)
