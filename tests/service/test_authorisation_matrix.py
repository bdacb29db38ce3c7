"""Every endpoint for every role: allowed or denied, decided on the server.

The table below is written out by hand, apart from the policy in ``roles.py``: a route added
without an entry here fails ``test_every_route_has_an_entry``. An allowed request may still
fail for other reasons (an empty body gives 422); what is checked is that authorisation
lets it through (not 401/403), and that a denied one gets 401 (no account) or 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from keepsight.service import create_app
from keepsight.service.app import service_routes
from keepsight.service.policy import route_action
from keepsight.service.store import accounts, library, work
from keepsight.service.store.accounts import Principal
from keepsight.service.tasks import TaskSpec, create_task
from keepsight.service.transfers import exports, uploads
from tests.service.conftest import FAST, USERS, add_users, make_dataset

A, M, R, N, V = "admin", "manager", "reviewer", "annotator", "viewer"
EVERYONE = frozenset({A, M, R, N, V})
STAFF = frozenset({A, M})
READERS = frozenset({A, M, R, V})
REVIEWERS = frozenset({A, M, R})
PUBLIC, SIGNED = "public", "signed"


class Own(frozenset[str]):
    """Roles allowed, annotators only on a job assigned to them."""


JOB = "/jobs/{job_id}"
ITEM = "/jobs/{job_id}/items/{item_id}"
EXPECTED: dict[tuple[str, str], object] = {
    **{(m, p): PUBLIC for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc") for m in ("GET", "HEAD")},
    ("GET", "/health"): PUBLIC,
    ("GET", "/info"): EVERYONE,
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/logout"): EVERYONE,
    ("GET", "/auth/me"): EVERYONE,
    ("GET", "/auth/tokens"): EVERYONE,
    ("POST", "/auth/tokens"): EVERYONE,
    ("DELETE", "/auth/tokens/{token_id}"): EVERYONE,
    ("GET", "/users"): STAFF,
    ("POST", "/users"): frozenset({A}),
    ("PATCH", "/users/{name}"): frozenset({A}),
    ("GET", "/audit-log"): frozenset({A}),
    ("GET", "/samples"): READERS,
    ("GET", "/samples/{sample_id}"): READERS,
    ("GET", "/samples/{sample_id}/image"): READERS,
    ("GET", "/samples/{sample_id}/annotations"): READERS,
    ("PUT", "/samples/{sample_id}/annotations"): REVIEWERS,
    ("GET", "/samples/{sample_id}/findings"): READERS,
    ("GET", "/labelbook"): EVERYONE,
    ("GET", "/labelbook/classes/{name}"): EVERYONE,
    ("PATCH", "/labelbook/classes/{name}"): STAFF,
    ("POST", "/labelbook/classes/{name}/examples"): STAFF,
    ("DELETE", "/labelbook/classes/{name}/examples/{example_id}"): STAFF,
    ("GET", "/labelbook/examples/{example_id}/image"): EVERYONE,
    ("GET", "/tasks"): READERS,
    ("POST", "/tasks"): STAFF,
    ("GET", "/tasks/{task_id}"): READERS,
    ("POST", "/tasks/{task_id}/assign"): STAFF,
    ("POST", "/tasks/{task_id}/merge"): STAFF,
    ("GET", "/tasks/{task_id}/agreement"): READERS,
    ("GET", "/quality"): REVIEWERS,
    ("GET", "/jobs"): EVERYONE,
    ("GET", JOB): Own(EVERYONE),
    ("PATCH", JOB): STAFF,
    ("PUT", JOB + "/assignee"): STAFF,
    ("POST", JOB + "/start"): Own({A, M, N}),
    ("POST", JOB + "/submit"): Own({A, M, N}),
    ("POST", JOB + "/review"): REVIEWERS,
    ("GET", ITEM + "/image"): Own(EVERYONE),
    ("GET", ITEM + "/annotations"): Own(EVERYONE),
    ("PUT", ITEM + "/annotations"): Own({A, M, R, N}),
    ("GET", ITEM + "/findings"): Own(EVERYONE),
    ("POST", ITEM + "/review"): REVIEWERS,
    ("POST", ITEM + "/masks"): Own({A, M, R, N}),
    # The browser pages hold no data: each asks the API, which authorises it.
    **{("GET", p): PUBLIC for p in ("/", "/ui/login", "/ui/jobs", "/ui/jobs/{job_id}/annotate",
                                    "/ui/jobs/{job_id}/review", "/ui/labelbook", "/ui/labelbook/{name}")},
    ("GET", "/gold"): REVIEWERS,
    ("PUT", "/gold/{sample_id}"): STAFF,
    ("DELETE", "/gold/{sample_id}"): STAFF,
    ("OPTIONS", "/uploads"): PUBLIC,
    ("POST", "/uploads"): STAFF,
    ("HEAD", "/uploads/{upload_id}"): STAFF,
    ("PATCH", "/uploads/{upload_id}"): STAFF,
    ("DELETE", "/uploads/{upload_id}"): STAFF,
    ("GET", "/uploads/{upload_id}"): STAFF,
    ("POST", "/exports"): STAFF,
    ("GET", "/exports"): STAFF,
    ("GET", "/exports/{export_id}/download"): SIGNED,
}

# Who makes the requests: a role and the user holding it. "other annotator" is an annotator
# calling on a job assigned to somebody else.
CALLERS = {"anonymous": None, "admin": "admin", "manager": "manager", "reviewer": "reviewer", "annotator": "ann1",
           "other annotator": "ann2", "viewer": "viewer"}


def allowed(expected: object, caller: str) -> bool:
    if expected in (PUBLIC, SIGNED):
        return True
    if caller == "anonymous":
        return False
    if caller == "other annotator":
        return "annotator" in expected and not isinstance(expected, Own)  # type: ignore[operator]
    return caller in expected  # type: ignore[operator]


def _methods(route: object) -> set[str]:
    return set(getattr(route, "methods", None) or [])


class Matrix:
    def __init__(self, root: Path) -> None:
        self.ds = make_dataset(root, f"sqlite:///{root / 'catalog.db'}")
        add_users(self.ds, FAST, USERS | {"spare": "annotator"})
        self.app = create_app(self.ds, settings=FAST)
        self.client = TestClient(self.app)
        ctx = self.app.state.keepsight
        task_id = create_task(ctx, TaskSpec.model_validate(
            {"name": "matrix", "query": {"kind": "unannotated"}, "job_size": 4}), by="manager")
        with self.ds.transaction() as conn:
            self.users = {u["name"]: u for u in accounts.list_users(conn, ctx.dataset_key)}
        with self.ds.transaction() as conn:
            job = work.list_jobs(conn, task_id=task_id)[0]
            work.assign_job(conn, job.id, self.users["ann1"]["id"])
            item, _ = work.items_of(conn, job.id)[0]
            example_id = library.add_example(conn, class_name="scratch", sample_id=item.sample_id, counter=False,
                                             note="", by="manager")
            self.spare_tokens = {name: accounts.issue_token(conn, u["id"], name="spare", kind="api", lifetime=None)[0]
                                 for name, u in self.users.items()}
        manager = Principal(self.users["manager"]["id"], "manager", "manager", 0)
        upload = uploads.create(ctx, manager, length=10, metadata={"filename": "a.png", "sha256": "0" * 64})
        export = exports.create(ctx, format="manifest", splits=None, strict=False, by="manager")
        self.params = {"job_id": job.id, "item_id": item.id, "sample_id": item.sample_id, "task_id": task_id,
                       "name": "spare", "example_id": example_id, "upload_id": upload.id, "export_id": export["id"]}
        self.download_query = exports.signed_link(ctx, export["id"])["url"].split("?", 1)[1]

    def url(self, path: str, caller: str) -> str:
        params = dict(self.params)
        if "{name}" in path and path.startswith("/labelbook"):
            params["name"] = "scratch"
        user = CALLERS[caller]
        params["token_id"] = self.spare_tokens[user] if user else 1
        url = path.format(**params)
        return url + ("?" + self.download_query if path.endswith("/download") else "")

    def headers(self, caller: str) -> dict[str, str]:
        user = CALLERS[caller]
        if user is None:
            return {}
        with self.ds.transaction() as conn:  # a fresh token per request: logout only ends its own
            _, token, _ = accounts.issue_token(conn, self.users[user]["id"], name="matrix", kind="session",
                                               lifetime=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    world = Matrix(tmp_path_factory.mktemp("matrix"))
    yield world
    world.client.close()
    world.ds.close()


def test_every_route_has_an_entry(matrix: Matrix) -> None:
    routes = service_routes(matrix.app)
    served = {(m, r.path) for r in routes if isinstance(r, Route) for m in _methods(r)}
    assert served == set(EXPECTED), (f"routes without an entry: {sorted(served - set(EXPECTED))}; "
                                     f"entries without a route: {sorted(set(EXPECTED) - served)}")
    assert [r.path for r in routes if isinstance(r, Mount)] == ["/static"]  # the page's files, served as they are
    for route in routes:
        if isinstance(route, APIRoute):  # each API route declares exactly one policy action
            actions = [d.call for d in route.dependant.dependencies if hasattr(d.call, "keepsight_action")]
            assert len(actions) == 1 and route_action(route) is not None, route.path


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_endpoint_for_every_role(matrix: Matrix, caller: str) -> None:
    wrong = []
    for (method, path), expected in sorted(EXPECTED.items(), key=lambda kv: (kv[0][0] == "DELETE", kv[0])):
        response = matrix.client.request(method, matrix.url(path, caller), headers=matrix.headers(caller))
        ok = allowed(expected, caller)
        if ok and response.status_code in (401, 403):
            wrong.append(f"{method} {path}: expected allowed, got {response.status_code} {response.text[:120]}")
        if not ok and response.status_code != (401 if caller == "anonymous" else 403):
            wrong.append(f"{method} {path}: expected denied, got {response.status_code}")
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)


def test_a_bad_signature_is_refused_for_everyone(matrix: Matrix) -> None:
    url = f"/exports/{matrix.params['export_id']}/download?" + matrix.download_query
    assert matrix.client.get(url).status_code == 200
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    for caller in CALLERS:
        assert matrix.client.get(tampered, headers=matrix.headers(caller)).status_code == 403
