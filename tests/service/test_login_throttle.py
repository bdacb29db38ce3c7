"""Login throttling: repeated failed sign-ins are refused for a while, per name and per address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from keepsight import Dataset
from keepsight.service import create_app
from keepsight.service.errors import TooManyRequests
from keepsight.service.throttle import LoginThrottle
from keepsight.storage.catalog.tables import svc_login_failures
from tests.service.conftest import FAST, PASSWORD, World


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str) -> Iterator[Dataset]:
    dataset = Dataset.init(tmp_path / "ds", catalog=catalog_url)
    yield dataset
    dataset.close()


def throttle(ds: Dataset, clock: Clock, *, per_user: int = 3, per_address: int = 10) -> LoginThrottle:
    return LoginThrottle(ds.transaction, max_per_user=per_user, max_per_address=per_address, window_seconds=60,
                         clock=clock)


def test_a_name_is_refused_after_its_failures_until_the_oldest_leaves_the_window(ds: Dataset) -> None:
    clock = Clock()
    limiter = throttle(ds, clock)
    for at in (1000.0, 1010.0, 1020.0):
        clock.now = at
        limiter.check("ann", "10.0.0.1")
        limiter.failed("ann", "10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("ANN", "10.0.0.2")  # names compare case-insensitively; the address does not matter
    assert refused.value.retry_after == 40  # the first failure (t=1000) leaves the window at t=1060
    limiter.check("bob", "10.0.0.1")  # other names are not affected
    clock.now = 1060.0
    limiter.check("ann", "10.0.0.1")


def test_a_success_clears_the_name_but_not_the_address(ds: Dataset) -> None:
    clock = Clock()
    limiter = throttle(ds, clock, per_user=2, per_address=4)
    limiter.failed("ann", "10.0.0.1")
    limiter.succeeded("ann")
    limiter.failed("ann", "10.0.0.1")
    limiter.check("ann", "10.0.0.1")  # one failure since the success
    for name in ("bob", "carl"):
        limiter.failed(name, "10.0.0.1")
    with pytest.raises(TooManyRequests):  # four failures from one address, over several names
        limiter.check("dora", "10.0.0.1")
    limiter.check("dora", "10.0.0.9")


def test_the_login_route_answers_429_with_retry_after_even_for_the_right_password(world: World) -> None:
    clock = Clock()
    ctx = world.client.app.state.keepsight  # type: ignore[attr-defined]
    ctx.logins = throttle(world.ds, clock, per_user=3, per_address=100)
    for _ in range(3):
        wrong = world.client.post("/auth/login", json={"name": "ann1", "password": "guess"})
        assert wrong.status_code == 401
    locked = world.client.post("/auth/login", json={"name": "ann1", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"
    assert "too many failed sign-ins" in locked.json()["detail"]
    # Unknown names count too, so probing for names is throttled the same way.
    for _ in range(3):
        assert world.client.post("/auth/login", json={"name": "nobody", "password": "x"}).status_code == 401
    assert world.client.post("/auth/login", json={"name": "nobody", "password": "x"}).status_code == 429
    # Others still sign in, and the locked name does once the window has passed.
    assert world.client.post("/auth/login", json={"name": "ann2", "password": PASSWORD}).status_code == 200
    clock.now += 61
    assert world.client.post("/auth/login", json={"name": "ann1", "password": PASSWORD}).status_code == 200


def test_failures_are_pruned_once_they_leave_the_window(ds: Dataset) -> None:
    clock = Clock()
    limiter = throttle(ds, clock)
    limiter.failed("ann", "10.0.0.1")
    clock.now += 61
    limiter.failed("bob", "10.0.0.2")  # recording prunes what left the window
    with ds.reading() as conn:
        kept = conn.execute(select(svc_login_failures.c.key).order_by(svc_login_failures.c.key)).scalars().all()
    assert kept == ["10.0.0.2", "bob"]


def test_two_service_processes_over_one_catalog_count_the_same_failures(ds: Dataset) -> None:
    """What `keepsight serve --workers 2` relies on: each worker opens the dataset itself (here: a
    second Dataset.open), and a guesser spreading attempts over the workers is refused all the same."""
    from tests.service.conftest import add_users

    add_users(ds, FAST)
    other = Dataset.open(ds.root)
    try:
        with TestClient(create_app(ds, settings=FAST)) as first, TestClient(create_app(other, settings=FAST)) as second:
            clients = [first, second]
            for attempt in range(FAST.login_max_failures):
                wrong = clients[attempt % 2].post("/auth/login", json={"name": "ann1", "password": "guess"})
                assert wrong.status_code == 401
            for client in clients:
                assert client.post("/auth/login", json={"name": "ann1", "password": PASSWORD}).status_code == 429
    finally:
        other.close()
    with ds.reading() as conn:
        assert conn.execute(select(func.count()).select_from(svc_login_failures)).scalar_one() == 2 * FAST.login_max_failures
