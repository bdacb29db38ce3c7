"""The same-object engine on synthetic captures: recall on transformed captures, no false merges."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import update

from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from keepsight.similarity import Pair, find_similar, load_groups, similar_to
from keepsight.similarity.graph import build_graph, groups_of, metadata_pairs
from keepsight.storage.catalog.tables import samples as samples_table
from tests.similarity import synth
from tests.similarity.conftest import write_captures, write_coco


def _part_of(truth: dict[str, int], path: str) -> int:
    return truth[Path(path).name]


def test_groups_recover_every_part_and_merge_none(synth_dataset: tuple[Path, dict[str, int]]) -> None:
    root, truth = synth_dataset
    with Dataset.open(root) as ds:
        seen: list[tuple[int, int]] = []
        result = find_similar(ds, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] == len(truth) - 1  # the exact copy shares a blob
    by_part: dict[int, set[str]] = {}
    for name, part in truth.items():
        by_part.setdefault(part, set()).add(name)
    for group in result.groups:
        parts = {_part_of(truth, p) for p in group.paths}
        assert len(parts) == 1, f"false merge of parts {parts}: {group.paths}"
    grouped = {Path(p).name: g.id for g in result.groups for p in g.paths}
    same_pairs = [(a, b) for names in by_part.values() for a, b in combinations(sorted(names), 2)]
    found = sum(1 for a, b in same_pairs if a in grouped and grouped.get(a) == grouped.get(b))
    assert found / len(same_pairs) >= 0.95
    reasons = {p.reason for p in result.pairs}
    assert "exact" in reasons and "near" in reasons
    exact = [p for p in result.pairs if p.reason == "exact"]
    assert {Path(exact[0].path_a).name, Path(exact[0].path_b).name} == {"p00_c0_s1.jpg", "copy_of_p00.jpg"}
    near = [p for p in result.pairs if p.reason == "near"]
    assert all(p.strength >= 20 and p.evidence["inliers"] == p.strength for p in near)
    stored = load_groups(root)
    assert stored is not None and [g.samples for g in stored[1]] == [g.samples for g in result.groups]


def test_incremental_add_reuses_old_work(synth_dataset: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root, truth = synth_dataset
    with Dataset.open(root) as ds:
        first = find_similar(ds)
        again = find_similar(ds)
        assert again.stats["described"] == 0 and again.stats["verified_new"] == 0
        assert [g.samples for g in again.groups] == [g.samples for g in first.groups]
        new = tmp_path / "new"
        new.mkdir()
        added = write_captures(new, range(3, 4), 1, seed=7)  # one more capture of part 3 (and its reference)
        import_path(ds, new, format="image_folder")
        third = find_similar(ds)
    # the reference re-encodes to the very same bytes (an exact duplicate): only the new capture is new
    assert third.stats["described"] == 1
    # only pairs with the new capture are verified (at most one per old blob), not the old pairs again
    assert 0 < third.stats["verified_new"] < min(third.stats["blobs"], first.stats["candidates"] / 3)
    assert any(p.reason == "exact" and Path(p.path_b).name == "p03_c0_s7.jpg" for p in third.pairs)
    for group in third.groups:
        if any(Path(p).name in added for p in group.paths):
            names = {Path(p).name for p in group.paths}
            assert {_part_of({**truth, **added}, n) for n in names} == {3}
            assert names >= {n for n, part in truth.items() if part == 3}


def test_find_similar_reads_back_no_description_it_has_just_computed(tmp_path: Path, monkeypatch) -> None:
    """The describe stage hands its descriptions to the index and verification stages (no .npz
    read back); a second run loads them from the store, with the same result."""
    from keepsight.descriptors.store import DescriptorStore

    src = tmp_path / "src"
    src.mkdir()
    write_captures(src, range(3), 1, seed=3)
    loads: list[str] = []
    original = DescriptorStore.load

    def counting(self: DescriptorStore, digest: str):  # type: ignore[no-untyped-def]
        loads.append(digest)
        return original(self, digest)

    monkeypatch.setattr(DescriptorStore, "load", counting)
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder")
        first = find_similar(ds, workers=1, regions=False)
        assert first.stats["described"] == 6 and loads == []
        (ds.root / ".keepsight" / "similarity" / "verified.json").unlink()  # verify again from stored descriptions
        second = find_similar(ds, workers=1, regions=False)
    assert second.stats["described"] == 0 and len(set(loads)) == 6
    assert [(p.a, p.b, p.strength) for p in second.pairs] == [(p.a, p.b, p.strength) for p in first.pairs]
    assert len(first.groups) == 3


def test_similar_to_finds_a_new_capture_with_evidence(
    synth_dataset: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, truth = synth_dataset
    rng = np.random.default_rng(42)
    probe = tmp_path / "probe.png"
    cv2.imwrite(str(probe), synth.random_capture(synth.scene(4), rng))
    with Dataset.open(root) as ds:
        matches = similar_to(ds, probe)
        stored = next(s for s in ds.samples() if s.path.endswith("p05_c0_s1.jpg"))
        exact = similar_to(ds, ds.image_bytes(stored))
    assert matches and {_part_of(truth, m.path) for m in matches} == {4}
    assert len(matches) == sum(1 for p in truth.values() if p == 4)
    assert all(m.reason == "near" and m.evidence["inliers"] >= 20 for m in matches)
    assert exact[0].reason == "exact" and exact[0].path.endswith("p05_c0_s1.jpg")
    assert {_part_of(truth, m.path) for m in exact} == {5}


def test_region_match_finds_a_defect_reframed_in_another_capture(tmp_path: Path) -> None:
    """A defect patch (with some context) of part A shows up, rotated and shifted, inside a capture of
    another part: only the small region is shared, so whole-image verification cannot confirm it
    (the two images' fixture matches at identity and leaves both parts unexplained)."""
    src = tmp_path / "src"
    src.mkdir()
    a = synth.scene(1)
    x, y, w, h = 170, 130, 60, 50
    patch = synth.rotate(a[y - 25 : y + h + 25, x - 25 : x + w + 25], 90)
    b = synth.scene(2)
    b[20 : 20 + patch.shape[0], 30 : 30 + patch.shape[1]] = patch
    cv2.imwrite(str(src / "a.png"), a)
    cv2.imwrite(str(src / "b.png"), b)
    for seed in (3, 4, 5):
        cv2.imwrite(str(src / f"other{seed}.png"), synth.scene(seed))
    write_coco(
        src,
        {
            "a.png": (a.shape[1], a.shape[0], [[x, y, w, h]]),
            "b.png": (b.shape[1], b.shape[0], []),
            **{f"other{s}.png": (480, 360, []) for s in (3, 4, 5)},
        },
    )
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src / "annotations.json", format="coco")
        without = find_similar(ds, regions=False)
        result = find_similar(ds)
        again = find_similar(ds)  # incremental: region verifications come from the cache
    assert result.stats["regions"]["verified_new"] > 0
    assert again.stats["regions"] == {
        "verified_new": 0,
        "cached": result.stats["regions"]["verified_new"],
        "vectors_new": 0,
    }
    assert [(p.a, p.b, p.reason, p.strength) for p in again.pairs] == [
        (p.a, p.b, p.reason, p.strength) for p in result.pairs
    ]
    assert not without.groups  # the image-level evidence alone does not link them
    region = [p for p in result.pairs if p.reason == "region"]
    assert len(region) == 1 and {Path(region[0].path_a).name, Path(region[0].path_b).name} == {"a.png", "b.png"}
    assert region[0].evidence["label"] == "defect" and region[0].strength >= 10
    assert [sorted(Path(p).name for p in g.paths) for g in result.groups] == [["a.png", "b.png"]]


def test_metadata_links_and_vetoes(synth_dataset: tuple[Path, dict[str, int]]) -> None:
    root, truth = synth_dataset
    with Dataset.open(root) as ds:
        ids = {Path(s.path).name: s.id for s in ds.samples()}
        with ds.transaction() as conn:
            # two different parts declared one object; two captures of part 1 declared different objects
            for name, serial in (
                ("p06_c0_s1.jpg", "S-1"),
                ("p07_c0_s1.jpg", "S-1"),
                ("p01_c0_s1.jpg", "A"),
                ("p01_c1_s1.jpg", "B"),
                ("p01_c2_s1.jpg", "B"),
            ):
                conn.execute(
                    update(samples_table).where(samples_table.c.id == ids[name]).values(meta={"part_serial": serial})
                )
        result = find_similar(ds)
    group_of = {Path(p).name: g.id for g in result.groups for p in g.paths}
    assert group_of["p06_c0_s1.jpg"] == group_of["p07_c0_s1.jpg"]
    assert group_of.get("p01_c0_s1.jpg") != group_of["p01_c1_s1.jpg"]
    assert any(p.reason == "metadata:part_serial" for p in result.pairs)


def test_graph_keeps_the_strongest_reason_and_components() -> None:
    paths = {i: f"{i}.png" for i in range(1, 6)}
    pairs = [
        Pair(1, 2, "1.png", "2.png", "region", 12, {}),
        Pair(1, 2, "1.png", "2.png", "near", 40, {}),
        Pair(3, 4, "3.png", "4.png", "near", 30, {}),
    ]
    meta = {3: {"object_id": 7}, 4: {"object_id": 8}, 5: {"object_id": 7}}
    pairs += metadata_pairs(paths, meta, ("object_id",))
    graph = build_graph(list(paths), pairs, meta, ("object_id",))
    assert graph[1][2]["pair"].reason == "near"
    assert not graph.has_edge(3, 4)  # object ids differ: the image evidence is overruled
    assert [g.samples for g in groups_of(graph, paths)] == [[1, 2], [3, 5]]
