"""Work distribution: tasks from queries, jobs, assignment, states, review, gold, findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from keepsight import import_path
from keepsight.runs import finish_run, start_run
from tests.conftest import write_image
from tests.service.conftest import World, box, job_detail, jobs_of, make_task, save

ALL_KINDS = [
    box("scratch", 2, 3, 20, 10),
    {"label": "scratch", "kind": "rotated_box", "geometry": [30, 20, 16, 4, 45.0]},
    {"label": "scratch", "kind": "polygon", "geometry": [5, 30, 15, 30, 10, 40]},
    {"label": "scratch", "kind": "polyline", "geometry": [40, 5, 50, 8, 60, 5]},
    {"label": "spot", "kind": "points", "geometry": [12, 12, 14, 15]},
    {"label": "spot", "kind": "mask", "geometry": {"size": [48, 64], "counts": "0`0"}},
    box("char", 40, 30, 48, 40, text="A"),
    {"label": "ng", "kind": "tag", "geometry": None},
]


def _mask_counts() -> str:
    import numpy as np

    from keepsight.model.convert import array_to_mask

    array = np.zeros((48, 64), dtype=bool)
    array[10:20, 30:40] = True
    return array_to_mask(array).counts


def test_tasks_are_made_from_queries(world: World) -> None:
    ids = world.sample_ids()
    paths = {s.id: s.path for s in world.ds.samples()}
    assert make_task(world, query={"kind": "samples", "ids": ids[:2], "paths": [paths[ids[5]]]}, job_size=2)["jobs"] \
        == {"new": 2}
    assert make_task(world, query={"kind": "split", "split": "unassigned"}, job_size=3)["jobs"] == {"new": 3}
    assert make_task(world, query={"kind": "drift", "ids": [ids[7]], "note": "drift run 12"})["jobs"] == {"new": 1}
    run = start_run(world.ds, "audit", {}, fingerprint="x")
    run.write_json("findings.json", {"findings": [
        {"check": "labels.unknown_class", "severity": "error", "samples": [ids[1], ids[2]]},
        {"check": "split.exact_leak", "severity": "warning", "samples": [ids[3]]}]})
    finish_run(world.ds, run, {})
    task = make_task(world, query={"kind": "audit", "run_id": run.id, "severities": ["error"]}, job_size=10)
    detail = job_detail(world, "manager", jobs_of(world, "manager", task_id=task["id"])[0]["id"])
    assert sorted(i["sample_id"] for i in detail["items"]) == [ids[1], ids[2]]
    unknown = world.call("manager", "POST", "/tasks", json={"name": "x", "query": {"kind": "samples", "ids": [999]}})
    assert unknown.status_code == 400 and "999" in unknown.json()["detail"]
    empty = world.call("manager", "POST", "/tasks", json={"name": "x", "query": {"kind": "split", "split": "test"}})
    assert empty.status_code == 400 and "selects no images" in empty.json()["detail"]


def test_a_task_for_the_images_new_since_a_version(world: World, tmp_path: Path) -> None:
    from keepsight.versions.api import create_version

    create_version(world.ds, "first eight")
    write_image(tmp_path / "more" / "n1.png", size=(64, 48), seed=101)
    write_image(tmp_path / "more" / "n2.png", size=(64, 48), seed=102)
    import_path(world.ds, tmp_path / "more", format="image_folder")
    task = make_task(world, query={"kind": "since_version", "version": "v1"}, job_size=10)
    detail = job_detail(world, "manager", jobs_of(world, "manager", task_id=task["id"])[0]["id"])
    assert sorted(i["path"] for i in detail["items"]) == ["n1.png", "n2.png"]
    unknown = world.call("manager", "POST", "/tasks", json={"name": "x", "query": {"kind": "since_version",
                                                                                 "version": "v9"}})
    assert unknown.status_code == 400 and "no version" in unknown.json()["detail"]


def test_jobs_are_split_and_handed_out_by_load(world: World) -> None:
    task = make_task(world, job_size=3, assign="load")
    jobs = jobs_of(world, "manager", task_id=task["id"])
    assert sorted(j["images"] for j in jobs) == [2, 3, 3]
    assert sorted(j["assignee"] for j in jobs) == ["ann1", "ann2", "ann3"]
    light = next(j["assignee"] for j in jobs if j["images"] == 2)
    # The next job goes to whoever has the fewest open images.
    second = make_task(world, query={"kind": "samples", "ids": world.sample_ids()[:1]}, assign="load")
    assert jobs_of(world, "manager", task_id=second["id"])[0]["assignee"] == light
    # Annotators see only their own jobs.
    for user in ("ann1", "ann2", "ann3"):
        assert {j["assignee"] for j in jobs_of(world, user)} == {user}


def test_consensus_copies_go_to_different_annotators(world: World) -> None:
    task = make_task(world, job_size=4, consensus_share=0.5, consensus_annotators=2, assign="load", seed=3)
    jobs = jobs_of(world, "manager", task_id=task["id"])
    assert len(jobs) == 3  # 8 images in 2 jobs, then 4 consensus copies in a third
    holders: dict[int, list[str]] = {}
    for job in jobs:
        for item in job_detail(world, "manager", job["id"])["items"]:
            if item["role"] == "consensus":
                holders.setdefault(item["sample_id"], []).append(job["assignee"])
    assert len(holders) == 4 and all(len(set(users)) == 2 for users in holders.values())
    # By hand, a copy cannot go to someone holding the other copy.
    third = next(j for j in jobs if j["images"] == 4 and all(
        i["role"] == "consensus" for i in job_detail(world, "manager", j["id"])["items"]))
    holder = next(users[0] for users in holders.values() if users[1] == third["assignee"])
    refused = world.call("manager", "PUT", f"/jobs/{third['id']}/assignee", json={"user": holder})
    assert refused.status_code == 409 and "different annotators" in refused.json()["detail"]


def test_annotators_see_only_their_own_images(world: World) -> None:
    task = make_task(world, job_size=4, consensus_share=1.0, assign="load")
    mine = jobs_of(world, "ann1", task_id=task["id"])[0]
    theirs = next(j for j in jobs_of(world, "manager", task_id=task["id"]) if j["assignee"] != "ann1")
    item = job_detail(world, "manager", theirs["id"])["items"][0]
    assert world.call("ann1", "GET", f"/jobs/{theirs['id']}").status_code == 403
    for suffix in ("image", "annotations", "findings"):
        assert world.call("ann1", "GET", f"/jobs/{theirs['id']}/items/{item['id']}/{suffix}").status_code == 403
    assert world.call("ann1", "GET", f"/samples/{item['sample_id']}/image").status_code == 403
    own_item = job_detail(world, "ann1", mine["id"])["items"][0]
    image = world.call("ann1", "GET", f"/jobs/{mine['id']}/items/{own_item['id']}/image")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.headers["etag"].strip('"') == next(s.blob for s in world.ds.samples() if s.id == own_item["sample_id"])
    assert "role" not in {k for k, v in own_item.items() if v is not None}  # blind: which images are special is hidden


def test_every_kind_is_saved_checked_and_reaches_the_catalog_on_acceptance(world: World) -> None:
    task = make_task(world, query={"kind": "samples", "ids": world.sample_ids()[:1]}, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    user = job["assignee"]
    item = job_detail(world, user, job["id"])["items"][0]
    annotations = [dict(a) for a in ALL_KINDS]
    annotations[5] = annotations[5] | {"geometry": {"size": [48, 64], "counts": _mask_counts()}}
    for bad, why in [(box("nope", 1, 1, 5, 5), "not in the label book"),
                     ({"label": "char", "kind": "polygon", "geometry": [1, 1, 5, 1, 5, 5]}, "is drawn with box"),
                     (box("char", 1, 1, 5, 5), "needs the attribute 'text'"),
                     (box("scratch", 500, 500, 600, 600), "out of the 64x48 image"),
                     ({"label": "scratch", "kind": "polygon", "geometry": ["a", "b"]}, "polygon")]:
        refused = save(world, user, job["id"], item["id"], [bad])
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text
    saved = save(world, user, job["id"], item["id"], annotations)
    assert saved.status_code == 200, saved.text
    assert [a["kind"] for a in saved.json()["annotations"]] == [a["kind"] for a in ALL_KINDS]
    assert job_detail(world, user, job["id"])["state"] == "in_progress"
    assert world.call(user, "POST", f"/jobs/{job['id']}/submit").status_code == 200
    assert world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"}).status_code == 200
    catalog = world.call("reviewer", "GET", f"/samples/{item['sample_id']}/annotations").json()
    assert sorted((a["kind"], a["label"]) for a in catalog["annotations"]) == \
        sorted((a["kind"], a["label"]) for a in ALL_KINDS)
    assert all(a["revision"] == 1 for a in catalog["annotations"])


def test_review_rejects_with_a_comment_and_accepts_after_the_fix(world: World) -> None:
    task = make_task(world, query={"kind": "samples", "ids": world.sample_ids()[:2]}, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    user = job["assignee"]
    first, second = job_detail(world, user, job["id"])["items"]
    assert save(world, user, job["id"], first["id"], [box("scratch", 1, 1, 9, 9)]).status_code == 200
    assert world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"}).status_code == 409
    assert world.call(user, "POST", f"/jobs/{job['id']}/submit").json()["state"] == "submitted"
    late = save(world, user, job["id"], first["id"], [])
    assert late.status_code == 409 and "submitted" in late.json()["detail"]
    assert world.call(user, "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"}).status_code == 403
    no_comment = world.call("reviewer", "POST", f"/jobs/{job['id']}/items/{second['id']}/review",
                            json={"verdict": "reject"})
    assert no_comment.status_code == 422
    url = f"/jobs/{job['id']}/items/{second['id']}/review"
    rejected = world.call("reviewer", "POST", url, json={"verdict": "reject", "comment": "the scratch is missed"})
    assert rejected.json()["item_review"] == "rejected"
    accepted = world.call("reviewer", "POST", f"/jobs/{job['id']}/items/{first['id']}/review",
                          json={"verdict": "accept"})
    assert accepted.json() | {"committed": None} == {"job_state": "submitted", "item_review": "accepted",
                                                    "committed": None}
    assert accepted.json()["committed"]["inserted"] == 1
    blocked = world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"})
    assert blocked.status_code == 409 and "rejected" in blocked.json()["detail"]
    assert world.call("reviewer", "POST", f"/jobs/{job['id']}/review",
                      json={"decision": "reject", "comment": "see image 2"}).json()["job_state"] == "rejected"
    back = job_detail(world, user, job["id"])
    assert back["state"] == "rejected" and back["comment"] == "see image 2"
    assert next(i for i in back["items"] if i["id"] == second["id"])["review_comment"] == "the scratch is missed"
    frozen = save(world, user, job["id"], first["id"], [])
    assert frozen.status_code == 409 and "accepted" in frozen.json()["detail"]  # accepted images stay accepted
    assert save(world, user, job["id"], second["id"], [box("scratch", 3, 3, 30, 6)]).status_code == 200
    assert world.call(user, "POST", f"/jobs/{job['id']}/submit").status_code == 200
    assert next(i for i in job_detail(world, "reviewer", job["id"])["items"]
                if i["id"] == second["id"])["review"] == "pending"
    done = world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"})
    assert done.json() == {"job_state": "accepted", "item_review": None, "committed": {"images": 1}}
    history = [(h["decision"], h["item_id"]) for h in job_detail(world, user, job["id"])["history"]]
    assert ("reject", second["id"]) in history and ("accept", None) in history
    catalog = world.call("viewer", "GET", f"/samples/{second['sample_id']}/annotations").json()
    assert [a["geometry"] for a in catalog["annotations"]] == [[3.0, 3.0, 30.0, 6.0]]


def test_deadlines_make_late_jobs_overdue(world: World) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    task = make_task(world, job_size=8, deadline=past, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    assert job["overdue"] is True
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    updated = world.call("manager", "PATCH", f"/jobs/{job['id']}", json={"deadline": future}).json()
    assert updated["overdue"] is False and updated["deadline"].startswith(future[:16])


def test_gold_images_score_the_annotator_blindly(world: World) -> None:
    ids = world.sample_ids()
    gold_answer = [box("scratch", 10, 10, 30, 20)]
    assert world.call("manager", "PUT", f"/gold/{ids[0]}", json={"annotations": gold_answer}).status_code == 200
    assert world.call("manager", "PUT", f"/gold/{ids[1]}", json={"annotations": [box("x", 1, 1, 2, 2)]}
                      ).status_code == 422
    task = make_task(world, query={"kind": "samples", "ids": ids[2:4]}, job_size=1, gold_per_job=1, assign="load")
    scores = {}
    for job in jobs_of(world, "manager", task_id=task["id"]):
        user = job["assignee"]
        view = job_detail(world, user, job["id"])
        assert {i["sample_id"] for i in view["items"]} >= {ids[0]}
        assert all(i["role"] is None and i["gold_score"] is None for i in view["items"])  # gold does not stand out
        gold_item = next(i for i in view["items"] if i["sample_id"] == ids[0])
        answer = [box("scratch", 11, 10, 30, 21)] if user == "ann1" else [box("scratch", 40, 30, 60, 45)]
        assert save(world, user, job["id"], gold_item["id"], answer).status_code == 200
        world.call(user, "POST", f"/jobs/{job['id']}/submit")
        staff = job_detail(world, "manager", job["id"])
        scores[user] = next(i["gold_score"] for i in staff["items"] if i["role"] == "gold")
        after = job_detail(world, user, job["id"])
        assert next(i for i in after["items"] if i["sample_id"] == ids[0])["review"] == "pending"
        review = world.call("reviewer", "POST", f"/jobs/{job['id']}/items/{gold_item['id']}/review",
                            json={"verdict": "accept"})
        assert review.status_code == 409 and "gold" in review.json()["detail"]
        assert world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"}).status_code \
            == 200
    assert scores["ann1"] == 1.0 and min(scores.values()) == 0.0
    quality = {row["user"]: row for row in world.call("reviewer", "GET", "/quality").json()}
    assert quality["ann1"]["gold_f1"] == 1.0 and quality["ann1"]["gold_images"] == 1
    worst = min(scores, key=scores.get)  # type: ignore[arg-type]
    assert quality[worst]["gold_f1"] == 0.0 and quality[worst]["score"] < quality["ann1"]["score"]
    # A gold image never reaches the catalog.
    assert world.call("viewer", "GET", f"/samples/{ids[0]}/annotations").json()["annotations"] == []


def test_the_audit_findings_of_an_image(world: World) -> None:
    ids = world.sample_ids()
    run = start_run(world.ds, "audit", {}, fingerprint="y")
    run.write_json("findings.json", {"findings": [
        {"check": "geometry.tiny_box", "severity": "warning", "message": "tiny box", "samples": [ids[0]],
         "evidence": {"box": [1, 2, 3, 4]}, "action": "check the box"},
        {"check": "split.exact_leak", "severity": "error", "message": "leak", "samples": [ids[1], ids[2]]}]})
    finish_run(world.ds, run, {})
    task = make_task(world, query={"kind": "samples", "ids": ids[:2]}, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    items = {i["sample_id"]: i for i in job_detail(world, job["assignee"], job["id"])["items"]}
    shown = world.call(job["assignee"], "GET", f"/jobs/{job['id']}/items/{items[ids[0]]['id']}/findings").json()
    assert shown["run_id"] == run.id
    assert [(f["check"], f["evidence"]) for f in shown["findings"]] == [("geometry.tiny_box", {"box": [1, 2, 3, 4]})]
    other = world.call(job["assignee"], "GET", f"/jobs/{job['id']}/items/{items[ids[1]]['id']}/findings").json()
    assert [f["check"] for f in other["findings"]] == ["split.exact_leak"]
    assert world.call("viewer", "GET", f"/samples/{ids[3]}/findings").json()["findings"] == []


def test_the_label_book_page_with_examples(world: World) -> None:
    ids = world.sample_ids()
    added = world.call("manager", "POST", "/labelbook/classes/scratch/examples", json={"sample_id": ids[0],
                                                                                      "note": "typical"})
    counter = world.call("manager", "POST", "/labelbook/classes/scratch/examples",
                         json={"sample_id": ids[1], "counter": True, "note": "a drawn pen line, not a scratch"})
    assert added.status_code == counter.status_code == 201
    assert world.call("manager", "POST", "/labelbook/classes/scratch/examples", json={"sample_id": ids[0]}
                      ).status_code == 400
    assert world.call("manager", "POST", "/labelbook/classes/nope/examples", json={"sample_id": ids[0]}
                      ).status_code == 404
    world.call("manager", "PATCH", "/labelbook/classes/scratch", json={"description": "a cut line, any length"})
    book = world.call("ann1", "GET", "/labelbook").json()
    assert any("drawn markings" in rule for rule in book["rules"])
    page = next(c for c in book["classes"] if c["name"] == "scratch")
    assert page["description"] == "a cut line, any length" and page["orientation"] == "directed"
    assert page["tools"] == ["box", "rotated_box", "polygon", "polyline"] and "head" in page["orientation_rule"]
    assert [e["sample_id"] for e in page["examples"]] == [ids[0]]
    assert [e["note"] for e in page["counter_examples"]] == ["a drawn pen line, not a scratch"]
    spot = next(c for c in book["classes"] if c["name"] == "spot")
    assert spot["tools"] == ["polygon", "points", "brush", "eraser"]
    image = world.call("ann1", "GET", page["counter_examples"][0]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert "a cut line, any length" in world.ds.labelbook_path.read_text()
