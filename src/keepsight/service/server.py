"""Running the app with uvicorn: in the foreground (``keepsight serve``) or in a background thread
(scripts, notebooks, tests and the load benchmark talk to it over loopback)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from keepsight.service.errors import ServiceError


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C)."""
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)


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
