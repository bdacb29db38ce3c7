"""A small dataset served by the app, with one account per role, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from keepsight import Dataset, import_path
from keepsight.model.labelbook import AttributeSpec, ClassSpec, LabelBook
from keepsight.service import ServiceConfig, create_app
from keepsight.service.security import Passwords
from keepsight.service.store import accounts
from tests.conftest import write_image

PASSWORD = "correct horse battery"
USERS = {"admin": "admin", "manager": "manager", "reviewer": "reviewer", "ann1": "annotator", "ann2": "annotator",
         "ann3": "annotator", "viewer": "viewer"}
# Cheap argon2 parameters keep the tests fast; the defaults are argon2's recommended ones.
FAST = ServiceConfig(password_time_cost=1, password_memory_kib=64, job_size=4)


def labelbook() -> LabelBook:
    return LabelBook(classes={
        "scratch": ClassSpec(name="scratch", kinds=["box", "rotated_box", "polygon", "polyline"], orientation="directed",
                             description="a thin line cut into the surface"),
        "spot": ClassSpec(name="spot", kinds=["mask", "polygon", "points"], orientation="none"),
        "char": ClassSpec(name="char", kinds=["box"], attributes={"text": AttributeSpec(type="text", required=True)}),
        "ok": ClassSpec(name="ok", kinds=["tag"]),
        "ng": ClassSpec(name="ng", kinds=["tag"]),
    })


@dataclass
class World:
    ds: Dataset
    client: TestClient
    settings: ServiceConfig
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.client.post("/auth/login", json={"name": user, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["token"]
            self.client.cookies.clear()  # the login also set a session cookie: requests carry only the header
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, user: str | None, method: str, url: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {}) | (self.headers(user) if user else {})
        return self.client.request(method, url, headers=headers, **kwargs)

    def sample_ids(self) -> list[int]:
        return [s.id for s in self.ds.samples()]


def make_dataset(root: Path, catalog: str, *, images: int = 8) -> Dataset:
    ds = Dataset.init(root / "ds", catalog=catalog)
    src = root / "images"
    for i in range(images):
        write_image(src / f"img{i:02d}.png", size=(64, 48), seed=i)
    import_path(ds, src, format="image_folder")
    ds.set_labelbook(labelbook())
    return ds


def add_users(ds: Dataset, settings: ServiceConfig, users: dict[str, str] = USERS) -> None:
    hashed = Passwords(settings).hash(PASSWORD)
    with ds.transaction() as conn:
        for name, role in users.items():
            accounts.create_user(conn, name=name, password_hash=hashed, role=role, dataset=ds.config.name)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path, catalog_url: str) -> Iterator[World]:
    ds = make_dataset(tmp_path, catalog_url)
    add_users(ds, FAST)
    with TestClient(create_app(ds, settings=FAST)) as client:
        yield World(ds, client, FAST)
    ds.close()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    ds = make_dataset(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    add_users(ds, FAST)
    with TestClient(create_app(ds, settings=FAST)) as client:
        yield World(ds, client, FAST)
    ds.close()


def box(label: str, x1: float, y1: float, x2: float, y2: float, **attributes: Any) -> dict[str, Any]:
    return {"label": label, "kind": "box", "geometry": [x1, y1, x2, y2], "attributes": attributes}


def make_task(world: World, **spec: Any) -> dict[str, Any]:
    body = {"name": "task", "query": {"kind": "unannotated"}} | spec
    response = world.call("manager", "POST", "/tasks", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def jobs_of(world: World, user: str, **params: Any) -> list[dict[str, Any]]:
    response = world.call(user, "GET", "/jobs", params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def job_detail(world: World, user: str, job_id: int) -> dict[str, Any]:
    response = world.call(user, "GET", f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def save(world: World, user: str, job_id: int, item_id: int, annotations: list[dict[str, Any]],
         base: int | None = None) -> Any:
    url = f"/jobs/{job_id}/items/{item_id}/annotations"
    if base is None:
        base = world.call(user, "GET", url).json()["revision"]
    return world.call(user, "PUT", url, json={"base_revision": base, "annotations": annotations})


@dataclass
class Live:
    world: World
    url: str

    def headers(self, user: str) -> dict[str, str]:
        return self.world.headers(user)


@pytest.fixture
def live(world: World) -> Iterator[Live]:
    """The same dataset served by uvicorn on loopback (real sockets: interrupted uploads, concurrency)."""
    from keepsight.service.server import BackgroundServer

    with BackgroundServer(create_app(world.ds, settings=world.settings)) as url:
        yield Live(world, url)
