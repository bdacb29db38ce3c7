"""Consensus: IoU matching, agreement and kappa, merge by vote, and the whole flow through the API."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from keepsight.model.annotation import Annotation
from keepsight.model.convert import array_to_mask
from keepsight.model.geometry import Box, Polygon, RotatedBox, Tag
from keepsight.service.agreement import agreement, cohen_kappa, fleiss_kappa
from keepsight.service.matching import f1_against, iou_matrix, match_regions
from keepsight.service.merge import merge_by_vote
from tests.service.conftest import World, box, job_detail, jobs_of, make_task, save


def _box(x1: float, y1: float, x2: float, y2: float, label: str = "scratch") -> Annotation:
    return Annotation(label, Box(x1, y1, x2, y2))


def _mask(rows: slice, cols: slice, label: str = "spot") -> Annotation:
    array = np.zeros((40, 40), dtype=bool)
    array[rows, cols] = True
    return Annotation(label, array_to_mask(array))


def test_iou_of_each_geometry_kind() -> None:
    square = _box(0, 0, 10, 10)
    ious = iou_matrix([square], [
        _box(5, 0, 15, 10),  # half overlap: 50 / 150
        Annotation("scratch", RotatedBox(5, 5, 10, 10, 90.0)),  # the same square, turned a quarter
        Annotation("scratch", Polygon([(0, 0), (10, 0), (0, 10)])),  # half of it
        _box(0, 0, 10, 10, label="chip"),  # another class never matches
    ], tolerance=1.0)[0]
    assert ious == pytest.approx([1 / 3, 1.0, 0.5, 0.0])
    masks = iou_matrix([_mask(slice(0, 10), slice(0, 10))], [_mask(slice(0, 10), slice(5, 15)),
                                                             _mask(slice(20, 30), slice(20, 30))], tolerance=1.0)[0]
    assert masks == pytest.approx([1 / 3, 0.0])
    # A mask against a box: the box is rasterised on the mask's grid.
    assert iou_matrix([_mask(slice(0, 10), slice(0, 10))], [_box(0, 0, 10, 10, label="spot")], tolerance=1.0)[0, 0] \
        == pytest.approx(1.0, abs=0.05)


def test_hungarian_matching_finds_the_best_one_to_one_pairs() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        corners = rng.uniform(0, 40, size=(8, 2))
        boxes = [_box(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, rng.uniform(5, 20, size=(8, 2)),
                                                                     strict=True)]
        a, b = boxes[:4], boxes[4:]
        ious = iou_matrix(a, b, tolerance=1.0)
        best = max(sum(ious[i, j] for i, j in enumerate(perm)) for perm in itertools.permutations(range(4)))
        found = match_regions(a, b, threshold=0.0, tolerance=1.0)
        assert sum(m.iou for m in found) == pytest.approx(best)


def test_fleiss_kappa_reproduces_the_textbook_example() -> None:
    # Fleiss (1971), as tabulated on Wikipedia: 10 items, 14 raters each, 5 categories -> kappa 0.210.
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-3)
    assert fleiss_kappa(np.array([[3, 0], [3, 0]])) is None  # everyone always said the same: undefined
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == pytest.approx(1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None


def test_agreement_per_class_and_per_annotator() -> None:
    copies = {
        1: {"ann1": [_box(0, 0, 10, 10), _box(20, 20, 30, 30, "chip"), Annotation("ng", Tag())],
            "ann2": [_box(1, 0, 10, 10), _box(20, 20, 30, 30, "chip"), Annotation("ng", Tag())],
            "ann3": [_box(0, 0, 10, 10), Annotation("ok", Tag())]},
        2: {"ann1": [_box(5, 5, 15, 15)], "ann2": [_box(5, 5, 15, 15)], "ann3": [_box(25, 25, 35, 35)]},
    }
    report = agreement(copies, threshold=0.5, tolerance=1.0)
    assert report.samples == 2
    assert report.per_class["chip"]["agreement"] == pytest.approx(2 * 1 / 4)  # ann3 missed it in two of three pairs
    scratch = report.per_class["scratch"]
    assert scratch["matched"] == 4 and scratch["agreement"] == pytest.approx(2 * 4 / 12)
    users = report.per_annotator
    assert users["ann3"]["agreement"] < users["ann1"]["agreement"] == users["ann2"]["agreement"]
    assert report.per_class["ng"]["fleiss_kappa"] is not None
    assert users["ann3"]["cohen_kappa"] < users["ann1"]["cohen_kappa"]


def test_merge_by_vote_keeps_what_a_majority_drew() -> None:
    copies = {
        "ann1": [_box(10, 10, 20, 20), _box(30, 30, 35, 35), Annotation("ng", Tag()), _mask(slice(0, 10), slice(0, 10))],
        "ann2": [_box(12, 10, 22, 20), Annotation("ng", Tag()), _mask(slice(0, 10), slice(2, 12))],
        "ann3": [_box(11, 11, 21, 21), Annotation("ok", Tag()), _mask(slice(0, 10), slice(1, 11))],
    }
    merged = merge_by_vote(copies, threshold=0.5, tolerance=1.0)
    boxes = [a for a in merged if a.kind == "box"]
    assert [b.geometry.to_json() for b in boxes] == [[11.0, 10.0, 21.0, 20.0]]  # the median; ann1's lone box is out
    assert sorted(a.label for a in merged if a.kind == "tag") == ["ng"]
    (mask,) = [a for a in merged if a.kind == "mask"]
    pixels = mask.geometry.decode()
    assert pixels[:10, 1:11].all() and not pixels[:10, 0].any() and not pixels[:10, 11].any()  # 2 of 3 votes
    assert f1_against(merged, merged, threshold=0.5, tolerance=1.0) == 1.0
    assert merge_by_vote(copies, threshold=0.5, tolerance=1.0, min_votes=1)[0].geometry.to_json() == \
        [11.0, 10.0, 21.0, 20.0]


def test_blind_consensus_through_the_api(world: World) -> None:
    ids = world.sample_ids()[:2]
    task = make_task(world, query={"kind": "samples", "ids": ids}, job_size=2, consensus_share=1.0,
                     consensus_annotators=3, assign="load")
    jobs = jobs_of(world, "manager", task_id=task["id"])
    assert sorted(j["assignee"] for j in jobs) == ["ann1", "ann2", "ann3"]
    drawn = {"ann1": [box("scratch", 10, 10, 20, 20), {"label": "ng", "kind": "tag"}],
             "ann2": [box("scratch", 11, 10, 21, 20), {"label": "ng", "kind": "tag"}],
             "ann3": [box("scratch", 40, 30, 50, 40), {"label": "ok", "kind": "tag"}]}
    for job in jobs:
        user = job["assignee"]
        for item in job_detail(world, user, job["id"])["items"]:
            assert save(world, user, job["id"], item["id"], drawn[user]).status_code == 200
            if user == "ann2":  # blind: nobody sees another's copy, not even through the catalog
                other = next(j for j in jobs if j["assignee"] == "ann1")
                other_item = job_detail(world, "manager", other["id"])["items"][0]
                assert world.call(user, "GET", f"/jobs/{other['id']}/items/{other_item['id']}/annotations"
                                  ).status_code == 403
        assert world.call(user, "POST", f"/jobs/{job['id']}/submit").status_code == 200
    report = world.call("manager", "GET", f"/tasks/{task['id']}/agreement").json()
    assert report["samples"] == 2 and report["iou_threshold"] == 0.5
    assert report["per_annotator"]["ann3"]["agreement"] < report["per_annotator"]["ann1"]["agreement"]
    assert report["per_class"]["scratch"]["matched"] == 2  # ann1 and ann2 agree on both images
    waiting = world.call("manager", "POST", f"/tasks/{task['id']}/merge", json={}).json()
    assert {r["state"] for r in waiting} == {"waiting"}
    for job in jobs:
        assert world.call("reviewer", "POST", f"/jobs/{job['id']}/review", json={"decision": "accept"}
                          ).json()["committed"] == {"images": 0}  # consensus copies wait for the merge
    merged = world.call("manager", "POST", f"/tasks/{task['id']}/merge", json={}).json()
    assert [(r["state"], r["inserted"]) for r in merged] == [("merged", 2), ("merged", 2)]
    for sample in ids:
        catalog = world.call("viewer", "GET", f"/samples/{sample}/annotations").json()["annotations"]
        assert sorted((a["kind"], a["label"], a["geometry"]) for a in catalog) == [
            ("box", "scratch", [10.5, 10.0, 20.5, 20.0]), ("tag", "ng", None)]
    assert world.call("manager", "POST", f"/tasks/{task['id']}/merge", json={}).json() == []
    quality = {row["user"]: row for row in world.call("manager", "GET", "/quality").json()}
    assert quality["ann3"]["agreement"] < quality["ann1"]["agreement"]
    assert quality["ann1"]["consensus_images"] == 2
