"""Shared fixtures: catalog URLs (SQLite and PostgreSQL), blob stores (local and S3 via a
moto server on loopback), the real datasets in ../shared/data, and small image factories."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
PG_URL = os.environ.get("KEEPSIGHT_TEST_PG_URL", "")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data is absent ({SHARED_DATA}): the real-dataset tests need it (CI always has it)")
    return SHARED_DATA


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url, create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty catalog database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    if not PG_URL:
        pytest.skip("set KEEPSIGHT_TEST_PG_URL (e.g. postgresql://postgres@localhost/test) to run the PostgreSQL tests")
    from sqlalchemy import text

    url, admin = _pg_admin_engine()
    name = f"keepsight_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) on loopback for the whole session; yields its endpoint."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["local", "s3"])
def blob_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_server")
    return f"s3://ks-{uuid.uuid4().hex[:10]}/blobs?endpoint_url={endpoint}"


def write_image(path: Path, *, size: tuple[int, int] = (32, 24), seed: int = 0, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    shape = (size[1], size[0], channels) if channels > 1 else (size[1], size[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode=None).save(path)
    return path


@pytest.fixture
def image_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(rel: str, **kwargs) -> Path:  # type: ignore[no-untyped-def]
        return write_image(tmp_path / "src" / rel, **kwargs)

    return make
