"""split.*: near-duplicate and object leaks (on real near duplicates), missing splits, classes missing from a split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from tests.audit.build import dataset_from, run_check, textured
from tests.similarity import synth


def _view(seed: int):  # type: ignore[no-untyped-def]
    return textured(seed, (240, 320))


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """Near duplicates across and within splits, an exact leak, and an object linked only by its serial."""
    a, b, c = _view(101), _view(102), _view(103)
    records = [
        {"image": "train/a.png", "split": "train", "pixels": a},
        {"image": "test/a_rotated.png", "split": "test", "pixels": synth.rotate(a, 17)},  # near leak
        {"image": "train/b.png", "split": "train", "pixels": b},
        {"image": "train/b_shifted.png", "split": "train", "pixels": synth.shift(b, 9, -6)},  # same split: fine
        {"image": "val/c.png", "split": "val", "pixels": c},
        {"image": "test/c_copy.png", "split": "test", "pixels": c},  # exact leak: split.exact_leak's
        {"image": "train/s1_top.png", "split": "train", "metadata": {"part_serial": "S1"}, "pixels": _view(104)},
        {"image": "test/s1_side.png", "split": "test", "metadata": {"part_serial": "S1"}, "pixels": _view(105)},
        {"image": "train/other.png", "split": "train", "pixels": _view(106)},
    ]
    with dataset_from(tmp_path_factory.mktemp("leaky"), records) as ds:
        yield ds


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """Near duplicates and serial groups, each inside one split."""
    a, b = _view(201), _view(202)
    records = [
        {"image": "train/a.png", "split": "train", "pixels": a},
        {"image": "train/a_rotated.png", "split": "train", "pixels": synth.rotate(a, 17)},
        {"image": "test/b.png", "split": "test", "pixels": b},
        {"image": "test/b_shifted.png", "split": "test", "pixels": synth.shift(b, 9, -6)},
        {"image": "val/s1_top.png", "split": "val", "metadata": {"part_serial": "S1"}, "pixels": _view(203)},
        {"image": "val/s1_side.png", "split": "val", "metadata": {"part_serial": "S1"}, "pixels": _view(204)},
    ]
    with dataset_from(tmp_path_factory.mktemp("sealed"), records) as ds:
        yield ds


def test_near_duplicates_across_splits_are_found(leaky: Dataset) -> None:
    result = run_check(leaky, "split.near_leak")
    [finding] = result.findings
    assert sorted(finding.paths) == ["test/a_rotated.png", "train/a.png"]
    assert finding.severity == "error" and finding.evidence["reason"] == "near"
    assert finding.evidence["inliers"] >= 20 and finding.split == "train/test"


def test_near_duplicates_within_a_split_do_not_leak(sealed: Dataset) -> None:
    assert run_check(sealed, "split.near_leak").findings == []


def test_an_object_linked_by_its_serial_leaks(leaky: Dataset) -> None:
    result = run_check(leaky, "split.object_leak")
    [finding] = result.findings  # the near and exact pairs are the other checks' findings
    assert finding.paths == ["train/s1_top.png", "test/s1_side.png"]
    assert finding.evidence["links_by_reason"] == {"metadata:part_serial": 1}
    assert finding.evidence["splits"] == {"train": 1, "test": 1}


def test_objects_kept_in_one_split_do_not_leak(sealed: Dataset) -> None:
    assert run_check(sealed, "split.object_leak").findings == []


def test_missing_test_and_val_splits_are_reported(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": "a.png", "split": "train"}, {"image": "b.png"}]) as ds:
        result = run_check(ds, "split.missing")
    assert sorted((f.split, f.severity) for f in result.findings) == [("test", "warning"), ("val", "info")]


def test_all_splits_present_pass(tmp_path: Path) -> None:
    records = [{"image": f"{s}.png", "split": s} for s in ("train", "val", "test")]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "split.missing").findings == []


def _tagged(split: str, i: int, *tags: str) -> dict[str, object]:
    return {"image": f"{split}/{i}.png", "split": split, "tags": list(tags), "seed": i}


def test_classes_absent_from_a_split_are_found(tmp_path: Path) -> None:
    records = [_tagged("train", 1, "scratch"), _tagged("train", 2, "scratch", "dent"), _tagged("test", 3, "scratch"),
               _tagged("test", 4, "chip")]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "split.class_missing")
    found = {(f.label, f.split): f for f in result.findings}
    assert set(found) == {("dent", "test"), ("chip", "train")}
    assert found[("chip", "train")].severity == "error" and found[("dent", "test")].severity == "warning"
    assert found[("dent", "test")].paths == ["train/2.png"]


def test_classes_in_every_split_pass(tmp_path: Path) -> None:
    records = [_tagged("train", 1, "scratch"), _tagged("val", 2, "scratch"), _tagged("test", 3, "scratch")]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "split.class_missing").findings == []
    with dataset_from(tmp_path / "one", [_tagged("train", 1, "scratch")]) as ds:
        assert run_check(ds, "split.class_missing").status == "skipped"
