"""The real service on loopback and headless Chromium driven by Playwright.

Chromium comes from the distribution (``apt-get install chromium``: /usr/bin/chromium); Playwright
never downloads a browser here. Without either, these tests skip and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keepsight import Dataset, import_path
from keepsight.service import create_app
from keepsight.service.client import RemoteClient
from keepsight.service.headless import CHROMIUM, TIMEOUT_MS, launch_chromium, sign_in
from keepsight.service.server import BackgroundServer
from tests.conftest import write_image
from tests.service.conftest import FAST, PASSWORD, add_users, labelbook

IMAGE_SIZE = (320, 240)
USERS = {"manager": "manager", "reviewer": "reviewer", "ann1": "annotator", "ann2": "annotator"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Chromium from the distribution (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                   "(pip install -c constraints.txt playwright)")
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def make_served_dataset(root: Path, *, images: int = 4) -> Dataset:
    ds = Dataset.init(root / "ds", catalog=f"sqlite:///{root / 'catalog.db'}")
    for i in range(images):
        write_image(root / "images" / f"img{i:02d}.png", size=IMAGE_SIZE, seed=i)
    import_path(ds, root / "images", format="image_folder")
    ds.set_labelbook(labelbook())
    add_users(ds, FAST, USERS)
    return ds


@dataclass
class Served:
    url: str
    ds: Dataset

    def client(self, user: str) -> RemoteClient:
        client = RemoteClient(self.url)
        client.login(user, PASSWORD)
        return client

    def sample_ids(self) -> list[int]:
        return [s.id for s in self.ds.samples()]

    def make_job(self, sample_ids: list[int], assignee: str = "ann1") -> dict[str, Any]:
        """A task of these images as one job, assigned to ``assignee``."""
        with self.client("manager") as manager:
            task = manager.request("POST", "/tasks", json={"name": "browser", "job_size": len(sample_ids),
                                                           "query": {"kind": "samples", "ids": sample_ids}})
            job = manager.request("GET", "/jobs", params={"task_id": task["id"]})[0]
            return dict(manager.request("PUT", f"/jobs/{job['id']}/assignee", json={"user": assignee}))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("browser")
    ds = make_served_dataset(root)
    with BackgroundServer(create_app(ds, settings=FAST)) as url:
        yield Served(url, ds)
    ds.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def login(page: Any, url: str, user: str) -> None:
    sign_in(page, url, user, PASSWORD)

