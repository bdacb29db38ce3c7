"""Transfers: tus uploads interrupted and resumed, checksums, archives, limits, signed export links."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from keepsight.errors import IntegrityError
from keepsight.service import create_app
from keepsight.service.client import RemoteClient, RemoteError
from keepsight.service.security import signed_query
from keepsight.storage.catalog import queries
from tests.conftest import write_image
from tests.service.conftest import Live, World

TUS = {"Tus-Resumable": "1.0.0"}


def _meta(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def _checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _image_bytes(tmp_path: Path, name: str = "new.png", size: tuple[int, int] = (96, 80)) -> bytes:
    return write_image(tmp_path / name, size=size, seed=42).read_bytes()


def _create(http: httpx.Client, auth: dict[str, str], data: bytes, **meta: str) -> str:
    fields = {"filename": "new.png", "sha256": hashlib.sha256(data).hexdigest()} | meta
    response = http.post("/uploads", headers=TUS | auth | {"Upload-Length": str(len(data)),
                                                           "Upload-Metadata": _meta(**fields)})
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0" and response.headers["Upload-Offset"] == "0"
    return response.headers["Location"]


def _patch(http: httpx.Client, auth: dict[str, str], location: str, offset: int, chunk: bytes,
           checksum: str | None = None) -> httpx.Response:
    return http.patch(location, content=chunk, headers=TUS | auth | {
        "Upload-Offset": str(offset), "Upload-Checksum": checksum or _checksum(chunk),
        "Content-Type": "application/offset+octet-stream"})


def _offset(http: httpx.Client, auth: dict[str, str], location: str) -> int:
    response = http.head(location, headers=TUS | auth)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def _cut_off_patch(url: str, token: str, location: str, offset: int, chunk: bytes) -> None:
    """Send a PATCH whose body stops halfway, then drop the connection (a network failure)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    head = (f"PATCH {location} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nUpload-Checksum: {_checksum(chunk)}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(chunk)}\r\n\r\n")
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head.encode() + chunk[: len(chunk) // 2])
        time.sleep(0.2)
        sock.shutdown(socket.SHUT_RDWR)


def _wait_for_logged_patch(world: World, location: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = world.call("admin", "GET", "/audit-log", params={"limit": 1000}).json()
        if any(e["method"] == "PATCH" and e["path"] == location and e["status"] >= 400 for e in log):
            return
        time.sleep(0.05)
    raise AssertionError("the server never finished the cut-off request")


def test_an_interrupted_upload_resumes_and_a_corrupted_chunk_is_refused(live: Live, tmp_path: Path) -> None:
    data = _image_bytes(tmp_path)
    chunk = 4096
    auth = live.headers("manager")
    with httpx.Client(base_url=live.url) as http:
        options = http.options("/uploads")
        assert options.headers["Tus-Version"] == "1.0.0" and "checksum" in options.headers["Tus-Extension"]
        location = _create(http, auth, data, path="uploaded/new.png", split="train")
        assert _patch(http, auth, location, 0, data[:chunk]).status_code == 204
        # The connection drops in the middle of the second chunk: nothing of it is kept.
        _cut_off_patch(live.url, auth["Authorization"].split()[1], location, chunk, data[chunk:2 * chunk])
        _wait_for_logged_patch(live.world, location)
        assert _offset(http, auth, location) == chunk
        # A chunk damaged on the way (its checksum does not match) is refused and not written.
        damaged = bytearray(data[chunk:2 * chunk])
        damaged[10] ^= 0xFF
        refused = _patch(http, auth, location, chunk, bytes(damaged), checksum=_checksum(data[chunk:2 * chunk]))
        assert refused.status_code == 460 and refused.headers["Tus-Resumable"] == "1.0.0"
        assert _offset(http, auth, location) == chunk
        wrong_offset = _patch(http, auth, location, 0, data[:chunk])
        assert wrong_offset.status_code == 409
        offset = _offset(http, auth, location)  # resume where the server says
        while offset < len(data):
            response = _patch(http, auth, location, offset, data[offset:offset + chunk])
            assert response.status_code == 204, response.text
            offset = int(response.headers["Upload-Offset"])
        assert response.headers["Keepsight-Upload-State"] == "imported"
        status = http.get(location, headers=auth).json()
    assert status["state"] == "imported" and status["result"]["added"] == 1
    with live.world.ds.reading() as conn:
        sample = queries.sample_by_path(conn, "uploaded/new.png")
    assert sample is not None and sample.blob == hashlib.sha256(data).hexdigest() and sample.split == "train"
    assert live.world.ds.blobs.get(sample.blob) == data


def test_a_file_that_does_not_match_its_declared_hash_never_enters_the_catalog(world: World, tmp_path: Path) -> None:
    data = _image_bytes(tmp_path)
    auth = world.headers("manager")
    before = world.ds.labelbook()
    http = world.client
    fields = {"filename": "fake.png", "sha256": hashlib.sha256(b"something else").hexdigest()}
    created = http.post("/uploads", headers=TUS | auth | {"Upload-Length": str(len(data)),
                                                         "Upload-Metadata": _meta(**fields)})
    location = created.headers["Location"]
    final = _patch(http, auth, location, 0, data)  # the chunk checksum is right, the whole file is not
    assert final.status_code == 460 and "declared sha256" in final.json()["detail"]
    assert http.get(location, headers=auth).json()["state"] == "failed"
    assert [s.path for s in world.ds.samples() if s.path == "fake.png"] == []
    assert world.ds.labelbook() == before


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _upload_whole(world: World, data: bytes, filename: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    auth = world.headers("manager")
    location = _create(world.client, auth, data, filename=filename)
    response = _patch(world.client, auth, location, 0, data)
    return response.status_code, world.client.get(location, headers=auth).json()


def test_archives_are_imported_and_path_traversal_is_refused(world: World, tmp_path: Path) -> None:
    a, b = _image_bytes(tmp_path, "a.png", (40, 30)), _image_bytes(tmp_path, "b.png", (50, 30))
    status, result = _upload_whole(world, _zip({"batch7/scratch/a.png": a, "batch7/scratch/b.png": b,
                                                "__MACOSX/._a.png": b"junk"}), "batch.zip")
    assert status == 204 and result["state"] == "imported" and result["result"]["added"] == 2
    assert {"batch7/scratch/a.png", "batch7/scratch/b.png"} <= {s.path for s in world.ds.samples()}
    count = len(list(world.ds.samples()))
    for evil in ("../escape.png", "/etc/escape.png", "ok/../../escape.png"):
        status, result = _upload_whole(world, _zip({"fine.png": a, evil: b}), "evil.zip")
        assert status == 422 and result["state"] == "failed" and "escape" in result["error"]
    assert len(list(world.ds.samples())) == count
    assert not list(tmp_path.rglob("escape.png")) and not list(world.ds.root.parent.rglob("escape.png"))
    refused = world.client.post("/uploads", headers=TUS | world.headers("manager") | {
        "Upload-Length": "10", "Upload-Metadata": _meta(filename="x.png", sha256="0" * 64, path="../x.png")})
    assert refused.status_code == 422  # a named path that escapes is refused before any byte is sent


def test_size_limits(tmp_path: Path, world: World) -> None:
    small = world.settings.model_copy(update={"max_upload_bytes": 1000, "max_chunk_bytes": 100,
                                              "max_archive_members": 2})
    from fastapi.testclient import TestClient

    auth = world.headers("manager")
    with TestClient(create_app(world.ds, settings=small)) as http:
        too_big = http.post("/uploads", headers=TUS | auth | {
            "Upload-Length": "1001", "Upload-Metadata": _meta(filename="x.png", sha256="0" * 64)})
        assert too_big.status_code == 413
        data = bytes(range(200))
        location = _create(http, auth, data, filename="x.png")
        assert _patch(http, auth, location, 0, data).status_code == 413
        assert http.post("/uploads", headers=auth | {"Upload-Length": "5"}).status_code == 412  # no Tus-Resumable
        tiny = _zip({"a.png": b"1", "b.png": b"2", "c.png": b"3"})
        location = _create(http, auth, tiny, filename="many.zip")
        for offset in range(0, len(tiny), 100):
            response = _patch(http, auth, location, offset, tiny[offset:offset + 100])
        assert response.status_code == 413 and "3 entries" in response.json()["detail"]


def test_the_client_resumes_after_failures_and_across_runs(live: Live, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_image(tmp_path / "big.png", size=(160, 120), seed=9)
    token = live.headers("manager")["Authorization"].split()[1]
    state = tmp_path / "uploads.json"
    real_send = RemoteClient._send_chunk
    sent: list[int] = []

    def flaky(self: RemoteClient, location: str, offset: int, chunk: bytes) -> int:
        sent.append(offset)
        if len(sent) == 2:
            raise httpx.ReadError("connection reset")
        return real_send(self, location, offset, chunk)

    monkeypatch.setattr(RemoteClient, "_send_chunk", flaky)
    with RemoteClient(live.url, token, state_file=state) as client:
        report = client.upload(path, chunk_size=8192, target="flaky.png")
    assert report["state"] == "imported" and sent[1] == sent[2]  # the failed chunk was resent from the same offset

    def dies_after_one(self: RemoteClient, location: str, offset: int, chunk: bytes) -> int:
        if offset > 0:
            raise httpx.ConnectError("network gone")
        return real_send(self, location, offset, chunk)

    monkeypatch.setattr(RemoteClient, "_send_chunk", dies_after_one)
    with RemoteClient(live.url, token, state_file=state) as client, pytest.raises(RemoteError, match="resume"):
        client.upload(path, chunk_size=8192, target="second.png", retries=1)
    assert state.exists() and len(state.read_text()) > 10  # the upload URL is remembered
    sent.clear()
    monkeypatch.setattr(RemoteClient, "_send_chunk", flaky)
    with RemoteClient(live.url, token, state_file=state) as client:
        report = client.upload(path, chunk_size=8192, target="second.png")
    assert sent[0] == 8192  # the second run started where the first one stopped
    assert report["state"] == "imported" and report["result"]["added"] == 1


def test_exports_are_downloaded_through_signed_expiring_links(live: Live, tmp_path: Path) -> None:
    token = live.headers("manager")["Authorization"].split()[1]
    with RemoteClient(live.url, token) as client:
        made = client.export("manifest")
        digest = client.download(made["url"], tmp_path / "export.zip")
        assert digest == made["sha256"]
        with zipfile.ZipFile(tmp_path / "export.zip") as zf:
            assert len([n for n in zf.namelist() if n.endswith(".png")]) == 8
        with RemoteClient(live.url) as anonymous:  # the link is the credential
            anonymous.download(made["url"], tmp_path / "again.zip")
        ctx_secret = (live.world.ds.root / ".keepsight" / "service-secret").read_bytes()
        path = f"/exports/{made['id']}/download"
        expires, signature = signed_query(ctx_secret, path, 60, now=time.time() - 3600)
        expired = client.http.get(f"{path}?expires={expires}&signature={signature}")
        assert expired.status_code == 403 and "expired" in expired.json()["detail"]
        longer = client.http.get(f"{path}?expires={expires + 7200}&signature={signature}")
        assert longer.status_code == 403 and "signature" in longer.json()["detail"]  # extending it breaks it
        ranged = client.http.get(made["url"], headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and len(ranged.content) == 10  # a broken download can resume
        stored = live.world.ds.root / ".keepsight" / "service" / "exports" / f"{made['id']}.zip"
        stored.write_bytes(stored.read_bytes()[:-1] + b"!")
        with pytest.raises(IntegrityError, match="sha256"):
            client.download(made["url"], tmp_path / "bad.zip")
        assert not (tmp_path / "bad.zip").exists()


def test_uploads_belong_to_their_creator(world: World, tmp_path: Path) -> None:
    data = _image_bytes(tmp_path)
    location = _create(world.client, world.headers("manager"), data)
    assert world.client.head(location, headers=TUS | world.headers("admin")).status_code == 200
    world.call("admin", "POST", "/users", json={"name": "manager2", "role": "manager", "password": "x" * 10})
    world.tokens.pop("manager2", None)
    response = world.client.post("/auth/login", json={"name": "manager2", "password": "x" * 10})
    other = {"Authorization": f"Bearer {response.json()['token']}"}
    assert world.client.head(location, headers=TUS | other).status_code == 404
    assert world.client.delete(location, headers=TUS | world.headers("manager")).status_code == 204
    assert world.client.get(location, headers=world.headers("manager")).json()["state"] == "failed"
