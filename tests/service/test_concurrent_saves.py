"""Many writers at once over real sockets: every save that was acknowledged is in the final state.

Each writer adds its own annotation by read-modify-write: on 409 it takes the current
content from the answer, adds its annotation again and retries. Writers of the same image
meet at a barrier between reading and saving, so conflicts are certain, not a matter of timing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx

from tests.service.conftest import FAST, Live, add_users, box

ANNOTATORS = 6
TABS = 2  # two browser tabs of the same annotator, saving the same image
SAVES = 4


def _writer(url: str, token: str, path: str, tag: str, barrier: threading.Barrier) -> dict[str, int]:
    counts = {"ok": 0, "conflicts": 0}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for n in range(SAVES):
            mine = box("scratch", n * 5, 2, n * 5 + 3, 5, writer=tag, n=n)
            current = http.get(path).json()
            barrier.wait()  # everyone has read the same revision: all but one save will conflict
            while True:
                response = http.put(path, json={"base_revision": current["revision"],
                                                "annotations": current["annotations"] + [mine]})
                if response.status_code == 200:
                    counts["ok"] += 1
                    break
                assert response.status_code == 409, response.text
                counts["conflicts"] += 1
                current = response.json()  # the current revision and content, to merge into
    return counts


def _tokens(live: Live, users: list[str]) -> dict[str, str]:
    return {u: live.headers(u)["Authorization"].split()[1] for u in users}


def _marks(annotations: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted((a["attributes"]["writer"], a["attributes"]["n"]) for a in annotations)


def test_concurrent_autosaves_lose_nothing(live: Live) -> None:
    world = live.world
    names = [f"w{i}" for i in range(ANNOTATORS)]
    add_users(world.ds, FAST, dict.fromkeys(names, "annotator"))
    task = world.call("manager", "POST", "/tasks", json={
        "name": "load", "query": {"kind": "samples", "ids": world.sample_ids()[:ANNOTATORS]}, "job_size": 1,
        "assign": "load", "annotators": names}).json()
    jobs = world.call("manager", "GET", "/jobs", params={"task_id": task["id"]}).json()
    tokens = _tokens(live, names)
    work = []
    for job in jobs:
        item = world.call(job["assignee"], "GET", f"/jobs/{job['id']}").json()["items"][0]
        path = f"/jobs/{job['id']}/items/{item['id']}/annotations"
        barrier = threading.Barrier(TABS)
        work += [(tokens[job["assignee"]], path, f"{job['assignee']}-tab{t}", barrier) for t in range(TABS)]
    with ThreadPoolExecutor(len(work)) as pool:
        results = list(pool.map(lambda w: _writer(live.url, *w), work))
    assert sum(r["ok"] for r in results) == ANNOTATORS * TABS * SAVES
    assert sum(r["conflicts"] for r in results) >= ANNOTATORS * SAVES  # each barrier round: one of two loses
    for job in jobs:
        item = world.call(job["assignee"], "GET", f"/jobs/{job['id']}").json()["items"][0]
        final = world.call(job["assignee"], "GET", f"/jobs/{job['id']}/items/{item['id']}/annotations").json()
        assert final["revision"] == TABS * SAVES
        expected = sorted((f"{job['assignee']}-tab{t}", n) for t in range(TABS) for n in range(SAVES))
        assert _marks(final["annotations"]) == expected


def test_concurrent_catalog_edits_lose_nothing(live: Live) -> None:
    world = live.world
    editors = ["reviewer", "manager", "admin"]
    tokens = _tokens(live, editors)
    path = f"/samples/{world.sample_ids()[0]}/annotations"
    barrier = threading.Barrier(len(editors))
    with ThreadPoolExecutor(len(editors)) as pool:
        results = list(pool.map(lambda u: _writer(live.url, tokens[u], path, u, barrier), editors))
    assert sum(r["ok"] for r in results) == len(editors) * SAVES
    assert sum(r["conflicts"] for r in results) >= (len(editors) - 1) * SAVES
    final = world.call("viewer", "GET", path).json()
    assert _marks(final["annotations"]) == sorted((u, n) for u in editors for n in range(SAVES))
    assert final["revision"] == len(editors) * SAVES  # one create per acknowledged save, nothing else
