"""Versions on SQLite and PostgreSQL: immutable snapshots, diff, export of an old version, cheap manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.model.labelbook import LabelBook
from keepsight.splits import freeze_test, split_dataset
from keepsight.versions import (
    create_version,
    diff_versions,
    export_version,
    get_version,
    latest_version,
    list_versions,
    relabel,
    remove_samples,
)
from keepsight.versions.api import load_manifest
from keepsight.versions.manifest import decode, encode
from tests.splits.build import add_records, dataset_with

RECORDS = [
    {"image": f"img_{i:02d}.png", "verdict": "NG" if i % 2 else "OK", "metadata": {"part_serial": f"S{i // 2}"},
     "annotations": [{"kind": "box", "label": "scratch" if i % 4 == 1 else "dent", "geometry": [2, 2, 20, 20]}]
     if i % 2 else []}
    for i in range(20)
]


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str):  # type: ignore[no-untyped-def]
    dataset = dataset_with(tmp_path, catalog_url, RECORDS)
    yield dataset
    dataset.close()


def test_versions_are_named_listed_and_latest(ds: Dataset) -> None:
    assert latest_version(ds) is None and list_versions(ds) == []
    with pytest.raises(DatasetError, match="message"):
        create_version(ds, "  ")
    assert create_version(ds, "first import") == "v1"
    assert create_version(ds, "unchanged") == "v2"
    infos = list_versions(ds)
    assert [v.label for v in infos] == ["v1", "v2"] and latest_version(ds) == "v2"
    assert infos[0].message == "first import" and infos[0].samples == 20
    assert infos[0].summary["annotations"] == 10
    assert infos[0].manifest == infos[1].manifest  # same state, same content address: stored once
    assert get_version(ds, "1").label == "v1" and get_version(ds, "latest").label == "v2"
    with pytest.raises(DatasetError, match="no version 'v9'"):
        get_version(ds, "v9")


def test_diff_names_every_kind_of_change(ds: Dataset, tmp_path: Path) -> None:
    v1 = create_version(ds, "before")
    split_dataset(ds, group=["part_serial"], seed=1)
    freeze_test(ds, reason="lock")
    remove_samples(ds, ["img_03.png"], reason="image carries markings")
    relabel(ds, "img_05.png", to="dent", from_label="scratch", reason="it is a dent")
    add_records(ds, tmp_path, [{"image": "late.png", "tags": ["stain"]}], start=500, name="late")
    book = ds.labelbook()
    book.classes["dent"].description = "a dent deeper than 0.1 mm"
    ds.set_labelbook(book)
    v2 = create_version(ds, "after")
    diff = diff_versions(ds, v1, v2)
    assert diff.added == ["late.png"] and diff.removed == ["img_03.png"]
    assert len(diff.split_moves) == 20 - 1 and {m["from"] for m in diff.split_moves} == {"unassigned"}
    changed = [a for a in diff.annotations if a.change == "changed"]
    assert len(changed) == 1 and changed[0].path == "img_05.png"
    assert changed[0].before == {"label": "scratch", "kind": "box", "revision": 1}
    assert changed[0].after == {"label": "dent", "kind": "box", "revision": 2}
    assert {a.path for a in diff.annotations} == {"img_05.png"}  # new samples' annotations come with them
    assert diff.classes_added == ["stain"] and diff.classes_changed == ["dent"]
    assert len(diff.frozen_added) > 0
    assert diff_versions(ds, v2, "current").empty
    # v1 is immutable: its manifest still holds the removed image and the old label.
    old = load_manifest(ds, v1).by_id()
    assert any(e.path == "img_03.png" for e in old.values())
    assert all(e.split == "unassigned" for e in old.values())


def test_exporting_an_old_version_gives_that_state(ds: Dataset, tmp_path: Path) -> None:
    split_dataset(ds, group=["part_serial"], seed=1)
    v1 = create_version(ds, "trained model A on this")
    remove_samples(ds, ["img_01.png"], reason="defect at edge")
    relabel(ds, "img_05.png", to="dent", from_label="scratch", reason="it is a dent")
    split_dataset(ds, group=["part_serial"], seed=2)
    report = export_version(ds, v1, tmp_path / "out", format="manifest")
    assert report.samples == 20
    lines = (tmp_path / "out" / "keepsight-manifest.jsonl").read_text(encoding="utf-8").splitlines()
    records = {r["image"]: r for r in map(json.loads, lines) if "image" in r}
    assert "img_01.png" in records
    assert records["img_05.png"]["annotations"][0]["label"] == "scratch"
    v1_splits = {e.path: e.split for e in load_manifest(ds, v1).entries}
    assert {p: r["split"] for p, r in records.items()} == v1_splits
    for split in ("train", "val", "test"):
        listed = (tmp_path / "out" / "splits" / f"{split}.txt").read_text(encoding="utf-8").split()
        assert sorted(Path(p).name for p in listed) == sorted(p for p, s in v1_splits.items() if s == split)
    # Round trip: the export imports into a new dataset with the same annotations.
    with Dataset.init(tmp_path / "again") as again:
        from keepsight.ingest.importer import import_path

        import_path(again, tmp_path / "out", format="manifest")
        assert {s.path: s.split for s in again.samples()} == v1_splits


def test_manifest_round_trip_and_size(ds: Dataset, tmp_path: Path) -> None:
    add_records(ds, tmp_path, [{"image": f"bulk/{i:04d}.png", "metadata": {"lot": f"L{i // 50}"},
                                "annotations": [{"kind": "box", "label": "dent", "geometry": [1, 1, 9, 9]}] * 3}
                               for i in range(400)], start=100, name="bulk")
    split_dataset(ds, group=["lot"], seed=0)
    manifest = load_manifest(ds, "current")
    data = encode(manifest)
    assert decode(data, where="test") == manifest
    assert encode(decode(data, where="test")) == data  # deterministic bytes: same state, same digest
    # Cheap: a few dozen bytes per sample, no image or annotation copied.
    assert len(data) / len(manifest.entries) < 120
    assert manifest.label_book() == LabelBook.model_validate(ds.labelbook().model_dump(mode="json"))
