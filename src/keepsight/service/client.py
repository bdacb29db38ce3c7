"""A small client of the service's REST API, used by ``keepsight remote`` and by scripts.

Uploads speak tus 1.0 with a sha256 checksum per chunk and resume on their own: after a
network error the client asks the server (HEAD) where to continue, and the upload URL of an
unfinished file is remembered in a state file, so running the same upload again continues
where the last run stopped. Downloads check the zip against the sha256 the server names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

from keepsight.errors import DatasetError, IntegrityError, KeepsightError
from keepsight.service.errors import ChecksumMismatch
from keepsight.storage.blobs import atomic_write_bytes, digest_file

TUS_VERSION = "1.0.0"
Progress = Callable[[int, int | None], None]


class RemoteError(KeepsightError):
    """The service refused a request; carries its HTTP status and answer."""

    exit_code = 6

    def __init__(self, reason: str, *, status: int, body: Any = None) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        detail = body.get("detail", response.text) if isinstance(body, dict) else response.text
    except ValueError:
        body, detail = None, response.text
    raise RemoteError(f"{response.request.method} {response.request.url.path}: {response.status_code} {detail}",
                      status=response.status_code, body=body)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class RemoteClient:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0,
                 state_file: Path | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.state_file = state_file
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        _raise_for(response)
        return response.json() if response.content else None

    # -- accounts and work -----------------------------------------------------------------

    def login(self, name: str, password: str) -> dict[str, Any]:
        body: dict[str, Any] = self.request("POST", "/auth/login", json={"name": name, "password": password})
        self.http.headers["Authorization"] = f"Bearer {body['token']}"
        return body

    def tasks(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/tasks"))

    def create_task(self, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", "/tasks", json=spec))

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.request("GET", "/jobs", params={k: v for k, v in filters.items() if v is not None}))

    # -- uploads (tus) -----------------------------------------------------------------------

    def _state(self) -> dict[str, str]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        return dict(json.loads(self.state_file.read_text(encoding="utf-8")))

    def _remember(self, key: str, location: str | None) -> None:
        if self.state_file is None:
            return
        state = self._state()
        if location is None:
            state.pop(key, None)
        else:
            state[key] = location
        atomic_write_bytes(self.state_file, json.dumps(state, indent=1).encode("utf-8"))

    def _offset(self, location: str) -> int | None:
        response = self.http.head(location, headers={"Tus-Resumable": TUS_VERSION})
        if response.status_code == 404:
            return None
        _raise_for(response)
        return int(response.headers["Upload-Offset"])

    def upload(self, path: Path, *, target: str | None = None, split: str | None = None, format: str | None = None,
               chunk_size: int = 8 * 1024 * 1024, retries: int = 5, progress: Progress | None = None) -> dict[str, Any]:
        """Upload an image or a zip (resuming an earlier attempt of the same file); returns the import report."""
        size = path.stat().st_size
        if size == 0:
            raise DatasetError("the file is empty", path=path)
        digest = digest_file(path)
        key = f"{self.url} {digest} {target or path.name}"
        location = self._state().get(key)
        offset = self._offset(location) if location else None
        if location is None or offset is None:
            metadata = {"filename": path.name, "sha256": digest, "path": target, "split": split, "format": format}
            response = self.http.post("/uploads", headers={
                "Tus-Resumable": TUS_VERSION, "Upload-Length": str(size),
                "Upload-Metadata": ",".join(f"{k} {_b64(v)}" for k, v in metadata.items() if v)})
            _raise_for(response)
            location, offset = response.headers["Location"], 0
            self._remember(key, location)
        failures = 0
        with path.open("rb") as fh:
            while offset < size:
                fh.seek(offset)
                chunk = fh.read(chunk_size)
                try:
                    offset = self._send_chunk(location, offset, chunk)
                    failures = 0
                except (httpx.TransportError, ChecksumMismatch) as exc:
                    failures += 1
                    if failures > retries:
                        raise RemoteError(f"upload of {path.name} failed {failures} times in a row ({exc}); "
                                          "run the same command again to resume", status=0) from None
                    time.sleep(min(2.0 ** failures * 0.1, 5.0))
                    resumed = self._offset(location)
                    if resumed is None:
                        raise RemoteError(f"the server forgot upload {location}; start again", status=404) from None
                    offset = resumed
                if progress:
                    progress(offset, size)
        self._remember(key, None)
        return dict(self.request("GET", location))

    def _send_chunk(self, location: str, offset: int, chunk: bytes) -> int:
        checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")
        response = self.http.patch(location, content=chunk, headers={
            "Tus-Resumable": TUS_VERSION, "Upload-Offset": str(offset), "Upload-Checksum": f"sha256 {checksum}",
            "Content-Type": "application/offset+octet-stream"})
        if response.status_code == 460:
            raise ChecksumMismatch("the server received a different chunk than was sent")
        _raise_for(response)
        return int(response.headers["Upload-Offset"])

    # -- exports -----------------------------------------------------------------------------

    def export(self, format: str, *, splits: list[str] | None = None, strict: bool = False) -> dict[str, Any]:
        return dict(self.request("POST", "/exports", json={"format": format, "splits": splits or [],
                                                          "strict": strict}))

    def download(self, link: str, dest: Path, *, progress: Progress | None = None) -> str:
        """Fetch a signed link into ``dest`` (atomically) and check its sha256; returns the digest."""
        tmp = dest.with_name(f".{dest.name}.part")
        with self.http.stream("GET", link) as response:
            if not response.is_success:
                response.read()
                _raise_for(response)
            expected = response.headers.get("X-Checksum-Sha256")
            total = int(response.headers.get("Content-Length", 0)) or None
            h = hashlib.sha256()
            with tmp.open("wb") as out:
                for block in response.iter_bytes():
                    out.write(block)
                    h.update(block)
                    if progress:
                        progress(out.tell(), total)
                out.flush()
                os.fsync(out.fileno())
        if expected and h.hexdigest() != expected:
            tmp.unlink(missing_ok=True)
            raise IntegrityError(f"the download's sha256 is {h.hexdigest()}, the server said {expected}",
                                 path=dest)
        os.replace(tmp, dest)
        return h.hexdigest()
