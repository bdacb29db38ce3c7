"""Exports write the split lists trainers read, and those lists never confuse a re-import."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from keepsight.dataset import Dataset
from keepsight.export import OWN_SPLIT_LISTS, export_dataset
from keepsight.formats.registry import format_names, get_format
from keepsight.ingest.importer import import_path
from keepsight.splits import split_dataset
from tests.splits.build import dataset_with

BOX = {"kind": "box", "label": "dent", "geometry": [2, 2, 20, 20]}
RECORDS = [{"image": f"img_{i:02d}.png", "verdict": "NG", "annotations": [BOX]} for i in range(12)]
WRITABLE = [n for n in format_names() if hasattr(get_format(n), "write")]


@pytest.fixture(scope="module")
def split_ds(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("lists")
    ds = dataset_with(tmp, None, RECORDS)
    split_dataset(ds, ratios="50/25/25", group=["none"], seed=0)
    yield ds
    ds.close()


@pytest.mark.parametrize("fmt", WRITABLE)
def test_every_export_lists_its_splits_and_reimports(split_ds: Dataset, tmp_path: Path, fmt: str) -> None:
    report = export_dataset(split_ds, tmp_path / "out", format=fmt)
    splits = {s.path: s.split for s in split_ds.samples()}
    if fmt in OWN_SPLIT_LISTS:
        assert report.split_lists == []
    else:
        assert report.split_lists == ["splits/train.txt", "splits/val.txt", "splits/test.txt"]
        for split in ("train", "val", "test"):
            listed = (tmp_path / "out" / "splits" / f"{split}.txt").read_text(encoding="utf-8").split()
            assert all((tmp_path / "out" / p).is_file() for p in listed)
            assert sorted(Path(p).name for p in listed) == sorted(p for p, s in splits.items() if s == split)
    with Dataset.init(tmp_path / "again") as again:
        import_path(again, tmp_path / "out", format=fmt)
        if fmt == "mvtec":  # MVTec's train holds good images only: the defective train images are a reported loss
            assert report.losses and sum(1 for _ in again.samples()) == 6
        else:
            assert sum(1 for _ in again.samples()) == len(splits)


def test_yolo_lists_and_data_yaml(split_ds: Dataset, tmp_path: Path) -> None:
    export_dataset(split_ds, tmp_path / "y", format="yolo")
    config = (tmp_path / "y" / "data.yaml").read_text(encoding="utf-8")
    for split, n in (("train", 6), ("val", 3), ("test", 3)):
        assert f"{split}: images/{split}" in config
        assert len((tmp_path / "y" / f"{split}.txt").read_text(encoding="utf-8").split()) == n
    assert not (tmp_path / "y" / "splits").exists()
    # the export is written to a temporary folder and renamed: `path` names where it ends up
    assert yaml.safe_load(config)["path"] == str((tmp_path / "y").resolve())
