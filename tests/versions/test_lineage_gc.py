"""Lineage (which version and split a model was trained on) and blob GC that respects versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.errors import ConflictError, DatasetError, StorageError
from keepsight.splits import split_dataset
from keepsight.versions import (
    collect_garbage,
    create_version,
    export_version,
    list_models,
    models_for_version,
    models_trained_on,
    register_model,
    remove_samples,
    restore_samples,
)
from keepsight.versions.api import latest_version
from tests.splits.build import dataset_with

RECORDS = [{"image": f"img_{i}.png", "tags": ["dent"]} for i in range(10)]


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str):  # type: ignore[no-untyped-def]
    dataset = dataset_with(tmp_path, catalog_url, RECORDS)
    yield dataset
    dataset.close()


def test_register_and_find_models(ds: Dataset) -> None:
    split_dataset(ds, group=["none"], ratios="60/20/20", seed=0)
    v1 = create_version(ds, "for model A")
    record = register_model(ds, "detector-a", version=v1, metrics={"map50": 0.81})
    assert record["name"] == "detector-a" and record["version"] == "v1" and record["metrics"] == {"map50": 0.81}
    assert record["train_split"] == "train" and record["details"]["trained_samples"] == 6
    assert record["registered_at"]
    with pytest.raises(ConflictError, match="already registered"):
        register_model(ds, "detector-a", version="v1")
    with pytest.raises(DatasetError, match="no version"):
        register_model(ds, "detector-b", version="v7")
    with pytest.raises(DatasetError, match="JSON"):
        register_model(ds, "detector-b", version="v1", metrics={"bad": object()})
    v2 = create_version(ds, "for model B")
    register_model(ds, "detector-b", version=v2, train_split="val")
    assert [m["name"] for m in models_for_version(ds, "v1")] == ["detector-a"]
    assert [m["name"] for m in models_for_version(ds, latest_version(ds) or "")] == ["detector-b"]
    assert [m["name"] for m in list_models(ds)] == ["detector-a", "detector-b"]
    train = [s.path for s in ds.samples() if s.split == "train"]
    val = [s.path for s in ds.samples() if s.split == "val"]
    affected = models_trained_on(ds, [train[0], val[0]])
    assert {m["name"]: m["samples"] for m in affected} == {"detector-a": [train[0]], "detector-b": [val[0]]}


def test_gc_never_deletes_a_blob_a_version_holds(ds: Dataset, tmp_path: Path) -> None:
    held = "img_0.png"
    digest = {s.path: s.blob for s in ds.samples()}
    v1 = create_version(ds, "holds img_0")
    remove_samples(ds, [held], reason="defect at edge")
    report = collect_garbage(ds, dry_run=True)
    assert report.deleted == [] and report.kept_for_versions == 1
    collect_garbage(ds)
    assert ds.blobs.exists(digest[held])
    assert export_version(ds, v1, tmp_path / "v1", format="manifest").samples == 10
    assert (tmp_path / "v1" / held).read_bytes() == ds.blobs.get(digest[held])


def test_gc_frees_removed_images_no_version_holds(ds: Dataset) -> None:
    digest = {s.path: s.blob for s in ds.samples()}
    remove_samples(ds, ["img_1.png"], reason="image carries markings")
    create_version(ds, "after the removal")  # does not hold img_1
    report = collect_garbage(ds)
    assert report.deleted == [digest["img_1.png"]] and report.bytes_freed > 0
    assert not ds.blobs.exists(digest["img_1.png"])
    assert all(ds.blobs.exists(d) for p, d in digest.items() if p != "img_1.png")
    with pytest.raises(StorageError, match="garbage-collected"):
        restore_samples(ds, ["img_1.png"], reason="changed my mind")
    assert collect_garbage(ds).deleted == []
