"""Concurrent edits never lose work: revisions, 409 with the current content, three-way commits."""

from __future__ import annotations

from keepsight.model.annotation import Annotation
from keepsight.model.geometry import Box
from keepsight.storage.catalog import queries, writes
from tests.service.conftest import World, box, job_detail, jobs_of, make_task, save


def _one_image_job(world: World, sample_index: int = 0) -> tuple[dict, dict, str]:  # type: ignore[type-arg]
    task = make_task(world, query={"kind": "samples", "ids": [world.sample_ids()[sample_index]]}, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    item = job_detail(world, job["assignee"], job["id"])["items"][0]
    return job, item, job["assignee"]


def test_two_writers_of_a_draft_the_second_gets_the_first_ones_work(world: World) -> None:
    job, item, user = _one_image_job(world)
    url = f"/jobs/{job['id']}/items/{item['id']}/annotations"
    tab1 = world.call(user, "GET", url).json()
    tab2 = world.call(user, "GET", url).json()
    first = save(world, user, job["id"], item["id"], tab1["annotations"] + [box("scratch", 1, 1, 9, 9)],
                 base=tab1["revision"])
    assert first.status_code == 200 and first.json()["revision"] == tab1["revision"] + 1
    second = save(world, user, job["id"], item["id"], tab2["annotations"] + [box("scratch", 20, 20, 30, 30)],
                  base=tab2["revision"])
    assert second.status_code == 409
    conflict = second.json()
    assert conflict["revision"] == first.json()["revision"]
    assert conflict["annotations"] == first.json()["annotations"]  # what the first writer saved, to merge into
    merged = save(world, user, job["id"], item["id"], conflict["annotations"] + [box("scratch", 20, 20, 30, 30)],
                  base=conflict["revision"])
    assert merged.status_code == 200
    final = world.call(user, "GET", url).json()
    assert sorted(a["geometry"] for a in final["annotations"]) == [[1.0, 1.0, 9.0, 9.0], [20.0, 20.0, 30.0, 30.0]]
    # A reviewer correcting a submitted job plays by the same rule.
    world.call(user, "POST", f"/jobs/{job['id']}/submit")
    stale = save(world, "reviewer", job["id"], item["id"], [], base=final["revision"] - 1)
    assert stale.status_code == 409 and stale.json()["revision"] == final["revision"]


def test_two_writers_of_the_catalog_annotations(world: World) -> None:
    sample = world.sample_ids()[0]
    url = f"/samples/{sample}/annotations"
    empty = world.call("reviewer", "GET", url).json()
    assert empty == {"revision": 0, "annotations": []}
    one = world.call("reviewer", "PUT", url, json={"base_revision": 0, "annotations": [box("scratch", 1, 1, 5, 5)]})
    assert one.status_code == 200 and one.json()["revision"] == 1
    other = world.call("manager", "PUT", url, json={"base_revision": 0, "annotations": [box("scratch", 2, 2, 4, 4)]})
    assert other.status_code == 409 and other.json()["annotations"] == one.json()["annotations"]
    # Edit the reviewer's box (update) and add one: the revision counts every change.
    moved = one.json()["annotations"][0] | {"geometry": [2, 2, 6, 6]}
    two = world.call("manager", "PUT", url, json={"base_revision": 1,
                                                  "annotations": [moved, box("scratch", 10, 10, 20, 20)]})
    assert two.status_code == 200 and two.json()["revision"] == 3
    uid = moved["uid"]
    assert next(a for a in two.json()["annotations"] if a["uid"] == uid)["revision"] == 2
    # A writer outside the service (CLI, script) moves the revision on too: a stale save is refused.
    with world.ds.transaction() as conn:
        writes.update_annotation(conn, uid, Annotation("scratch", Box(3, 3, 7, 7)), expected_revision=2,
                                 author="script")
    stale = world.call("reviewer", "PUT", url, json={"base_revision": 3, "annotations": []})
    assert stale.status_code == 409 and stale.json()["revision"] == 4
    gone = world.call("reviewer", "PUT", url, json={"base_revision": 4, "annotations": []})
    assert gone.json() == {"revision": 6, "annotations": []}


def _catalog(world: World, sample_id: int) -> list[Annotation]:
    with world.ds.reading() as conn:
        return queries.annotations_of(conn, sample_id)


def test_accepting_a_draft_keeps_changes_made_meanwhile_to_other_annotations(world: World) -> None:
    sample = world.sample_ids()[0]
    url = f"/samples/{sample}/annotations"
    seeded = world.call("manager", "PUT", url, json={"base_revision": 0, "annotations": [
        box("scratch", 1, 1, 5, 5), box("scratch", 30, 30, 40, 40)]}).json()
    a, b = seeded["annotations"]
    job, item, user = _one_image_job(world, 0)
    draft = world.call(user, "GET", f"/jobs/{job['id']}/items/{item['id']}/annotations").json()
    assert [x["uid"] for x in draft["annotations"]] == [a["uid"], b["uid"]]  # the job starts from the catalog
    # The annotator moves A and adds C; meanwhile a reviewer moves B in the catalog.
    edited = [draft["annotations"][0] | {"geometry": [1, 1, 8, 8]}, draft["annotations"][1], box("scratch", 50, 5, 60, 9)]
    assert save(world, user, job["id"], item["id"], edited, base=draft["revision"]).status_code == 200
    world.call("reviewer", "PUT", url, json={"base_revision": seeded["revision"],
                                             "annotations": [a, b | {"geometry": [31, 31, 41, 41]}]})
    world.call(user, "POST", f"/jobs/{job['id']}/submit")
    accepted = world.call("reviewer", "POST", f"/jobs/{job['id']}/items/{item['id']}/review",
                          json={"verdict": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["committed"] == {"inserted": 1, "updated": 1, "deleted": 0, "kept_theirs": 0}
    geometries = sorted(x.geometry.to_json() for x in _catalog(world, sample))
    assert geometries == [[1.0, 1.0, 8.0, 8.0], [31.0, 31.0, 41.0, 41.0], [50.0, 5.0, 60.0, 9.0]]


def test_the_same_annotation_changed_on_both_sides_is_a_conflict_to_resolve(world: World) -> None:
    sample = world.sample_ids()[0]
    url = f"/samples/{sample}/annotations"
    seeded = world.call("manager", "PUT", url, json={"base_revision": 0, "annotations": [box("scratch", 1, 1, 5, 5)]})
    a = seeded.json()["annotations"][0]
    job, item, user = _one_image_job(world, 0)
    draft = world.call(user, "GET", f"/jobs/{job['id']}/items/{item['id']}/annotations").json()
    save(world, user, job["id"], item["id"], [draft["annotations"][0] | {"geometry": [1, 1, 9, 9]}], base=0)
    world.call("reviewer", "PUT", url, json={"base_revision": 1, "annotations": [a | {"geometry": [2, 2, 6, 6]}]})
    world.call(user, "POST", f"/jobs/{job['id']}/submit")
    review = f"/jobs/{job['id']}/items/{item['id']}/review"
    conflict = world.call("reviewer", "POST", review, json={"verdict": "accept"})
    assert conflict.status_code == 409 and a["uid"] in conflict.json()["detail"]
    assert [x.geometry.to_json() for x in _catalog(world, sample)] == [[2.0, 2.0, 6.0, 6.0]]  # nothing half-done
    theirs = world.call("reviewer", "POST", review, json={"verdict": "accept", "resolve": "theirs"})
    assert theirs.json()["committed"]["kept_theirs"] == 1
    assert [x.geometry.to_json() for x in _catalog(world, sample)] == [[2.0, 2.0, 6.0, 6.0]]


def test_resolving_for_the_draft_overwrites_the_catalog_change(world: World) -> None:
    sample = world.sample_ids()[0]
    url = f"/samples/{sample}/annotations"
    a = world.call("manager", "PUT", url, json={"base_revision": 0, "annotations": [box("scratch", 1, 1, 5, 5)]}
                   ).json()["annotations"][0]
    job, item, user = _one_image_job(world, 0)
    save(world, user, job["id"], item["id"], [a | {"geometry": [1, 1, 9, 9]}], base=0)
    world.call("reviewer", "PUT", url, json={"base_revision": 1, "annotations": []})  # deleted meanwhile
    world.call(user, "POST", f"/jobs/{job['id']}/submit")
    ours = world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept", "resolve": "ours"})
    assert ours.status_code == 200
    assert [x.geometry.to_json() for x in _catalog(world, sample)] == [[1.0, 1.0, 9.0, 9.0]]
