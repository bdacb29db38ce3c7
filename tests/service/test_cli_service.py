"""``keepsight user``, ``keepsight serve`` and ``keepsight remote`` through the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner

from keepsight.cli.app import app
from keepsight.service import create_app
from keepsight.service.client import RemoteClient
from keepsight.service.server import BackgroundServer, free_port
from tests.conftest import write_image
from tests.service.conftest import FAST, PASSWORD, add_users, make_dataset

runner = CliRunner()


@pytest.fixture
def dataset(tmp_path: Path):  # type: ignore[no-untyped-def]
    ds = make_dataset(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    yield ds
    ds.close()


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)


def test_user_commands_bootstrap_the_first_admin(dataset) -> None:  # type: ignore[no-untyped-def]
    root = str(dataset.root)
    added = invoke("-d", root, "user", "add", "boss", "--role", "admin", "--password-stdin", input="long enough pw\n")
    assert added.exit_code == 0, added.output
    assert invoke("-d", root, "user", "add", "boss", "--role", "admin", "--password-stdin",
                  input="long enough pw\n").exit_code == 2
    assert invoke("-d", root, "user", "add", "x", "--role", "king", "--no-password").exit_code == 2
    short = invoke("-d", root, "user", "add", "y", "--role", "viewer", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "8 characters" in short.output
    assert invoke("-d", root, "user", "add", "bot", "--role", "viewer", "--no-password").exit_code == 0
    listed = json.loads(invoke("-d", root, "user", "list", "--json").stdout)
    assert {(u["name"], u["role"]) for u in listed} == {("boss", "admin"), ("bot", "viewer")}
    token = invoke("-d", root, "user", "token", "bot", "--name", "ci").stdout.strip()
    assert token.startswith("ks_")
    assert invoke("-d", root, "user", "set", "bot", "--role", "reviewer").exit_code == 0
    with BackgroundServer(create_app(dataset, settings=FAST)) as url:
        me = httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["user"] == "bot" and me["role"] == "reviewer"
        assert invoke("-d", root, "user", "set", "bot", "--disabled").exit_code == 0
        assert httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_keepsight_serve_answers_on_its_port(dataset) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "keepsight", "-d", str(dataset.root), "serve", "--port",
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=os.environ | {"COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "keepsight serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert "/jobs/{job_id}/items/{item_id}/annotations" in spec["paths"]
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    assert "no admin account yet" in output


def _worker_processes(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (spawned by multiprocessing; not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_keepsight_serve_with_two_workers_shares_sessions_and_login_failures(dataset) -> None:  # type: ignore[no-untyped-def]
    add_users(dataset, FAST)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "keepsight", "-d", str(dataset.root), "serve", "--port",
                                str(port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=os.environ | {"COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200 and len(_worker_processes(process.pid)) == 2:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "keepsight serve --workers 2 did not start"
            time.sleep(0.2)
        # A session made on one worker is good on every worker: each request on a new connection.
        login = httpx.post(f"{url}/auth/login", json={"name": "ann1", "password": PASSWORD})
        assert login.status_code == 200
        token = login.json()["token"]
        for _ in range(8):
            me = httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["user"] == "ann1"
        # The workers raced to make the signing key on start; a link signed by one is good on all.
        manager = httpx.post(f"{url}/auth/login", json={"name": "manager", "password": PASSWORD}).json()["token"]
        with RemoteClient(url, manager) as client:
            link = client.export("manifest")["url"]
        for _ in range(8):
            assert httpx.get(f"{url}{link}").status_code == 200
        # Failures counted by whichever worker took them lock the name on all of them.
        for _ in range(dataset.config.service.login_max_failures):
            assert httpx.post(f"{url}/auth/login", json={"name": "ann2", "password": "guess"}).status_code == 401
        for _ in range(6):
            assert httpx.post(f"{url}/auth/login", json={"name": "ann2", "password": PASSWORD}).status_code == 429
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert "2 worker processes" in output


def test_remote_commands_use_the_rest_api(dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = str(dataset.root)
    invoke("-d", root, "user", "add", "mgr", "--role", "manager", "--password-stdin", input="long enough pw\n")
    invoke("-d", root, "user", "add", "ann", "--role", "annotator", "--password-stdin", input="long enough pw\n")
    env = {"KEEPSIGHT_REMOTE_CONFIG": str(tmp_path / "remote" / "remote.json")}
    with BackgroundServer(create_app(dataset, settings=FAST)) as url:
        assert invoke("remote", "tasks", env=env).exit_code == 2  # not signed in yet
        wrong = invoke("remote", "login", url, "--user", "mgr", "--password-stdin", input="nope\n", env=env)
        assert wrong.exit_code == 6 and "401" in wrong.output
        login = invoke("remote", "login", url, "--user", "mgr", "--password-stdin", input="long enough pw\n", env=env)
        assert login.exit_code == 0, login.output
        assert oct((tmp_path / "remote" / "remote.json").stat().st_mode)[-3:] == "600"
        assert "mgr (manager)" in invoke("remote", "whoami", env=env).output
        made = invoke("remote", "create-task", "first pass", "--query", '{"kind": "unannotated"}', "--job-size", "3",
                      "--assign", "--json", env=env)
        assert made.exit_code == 0, made.output
        assert json.loads(made.stdout)["jobs"] == {"new": 3}
        tasks = json.loads(invoke("remote", "tasks", "--json", env=env).stdout)
        assert [t["name"] for t in tasks] == ["first pass"]
        jobs = json.loads(invoke("remote", "jobs", "--task", str(tasks[0]["id"]), "--json", env=env).stdout)
        assert len(jobs) == 3 and {j["assignee"] for j in jobs} == {"ann"}
        image = write_image(tmp_path / "fresh.png", size=(70, 50), seed=77)
        uploaded = invoke("remote", "upload", str(image), "--path", "line2/fresh.png", "--chunk-mb", "0.004",
                          "--json", env=env)
        assert uploaded.exit_code == 0, uploaded.output
        assert json.loads(uploaded.stdout)[0]["result"]["added"] == 1
        assert "line2/fresh.png" in {s.path for s in dataset.samples()}
        exported = invoke("remote", "export", "--format", "manifest", "--out", str(tmp_path / "out.zip"), env=env)
        assert exported.exit_code == 0 and "verified" in exported.output
        assert (tmp_path / "out.zip").stat().st_size > 0
        assert invoke("remote", "logout", env=env).exit_code == 0
        assert invoke("remote", "whoami", env=env).exit_code == 2
