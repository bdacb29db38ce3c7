"""Running the app with uvicorn: in the foreground (``keepsight serve``) or in a background thread
(scripts, notebooks, tests and the load benchmark talk to it over loopback)."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from keepsight.service.app import create_app
from keepsight.service.errors import ServiceError

ROOT_VARIABLE = "KEEPSIGHT_SERVE_ROOT"  # how `serve --workers N` tells each worker its dataset


def serve(root: Path, *, host: str, port: int, workers: int = 1) -> None:
    """Serve the dataset at ``root`` until interrupted (Ctrl-C).

    With several workers, uvicorn forks that many processes behind one listening socket and each
    opens the dataset itself (:func:`app_from_environment`); they share everything through the
    catalog (accounts, tokens, drafts, uploads, login failures), so any worker may answer any request.
    """
    if workers == 1:
        uvicorn.run(create_app(root), host=host, port=port, log_level="info", proxy_headers=True)
        return
    os.environ[ROOT_VARIABLE] = str(Path(root).resolve())
    uvicorn.run("keepsight.service.server:app_from_environment", factory=True, workers=workers, host=host,
                port=port, log_level="info", proxy_headers=True)


def app_from_environment() -> FastAPI:
    """The app factory each worker process of ``serve(..., workers=N)`` calls."""
    root = os.environ.get(ROOT_VARIABLE)
    if not root:
        raise ServiceError(f"{ROOT_VARIABLE} is not set: start workers with `keepsight serve --workers N`")
    return create_app(root)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BackgroundServer:
    """``with BackgroundServer(app) as url: ...`` serves ``app`` on loopback until the block ends."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                     timeout_keep_alive=30))
        self._thread = threading.Thread(target=self._server.run, name="keepsight-serve", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceError(f"the service did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
