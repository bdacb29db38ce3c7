"""diversity.*: objects captured many times in a split, and too few distinct objects per class."""

from __future__ import annotations

from pathlib import Path

from tests.audit.build import dataset_from, run_check


def _capture(name: str, serial: str, seed: int, split: str = "train", tags: tuple[str, ...] = ()) -> dict[str, object]:
    return {"image": name, "split": split, "metadata": {"part_serial": serial}, "seed": seed, "tags": list(tags)}


def test_an_object_captured_many_times_is_found(tmp_path: Path) -> None:
    records = [_capture(f"train/p1_{k}.png", "P1", k) for k in range(5)]
    records += [_capture(f"test/p1_{k}.png", "P1", 10 + k, "test") for k in range(2)]  # 2 in test: under the bar
    records += [_capture(f"train/p2_{k}.png", "P2", 20 + k) for k in range(2)]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "diversity.repeated_object")
    [finding] = result.findings
    assert finding.split == "train" and finding.paths == [f"train/p1_{k}.png" for k in range(5)]
    assert finding.evidence["captures"] == 5 and finding.evidence["group_size"] == 7
    assert finding.evidence["share_of_split"] == round(5 / 7, 4)


def test_few_captures_per_object_pass(tmp_path: Path) -> None:
    records = [_capture(f"p{p}_{k}.png", f"P{p}", 10 * p + k) for p in range(3) for k in range(2)]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "diversity.repeated_object").findings == []


def test_classes_shown_by_too_few_objects_are_found(tmp_path: Path) -> None:
    records = [_capture(f"scratch_{k}.png", "P1", k, tags=("scratch",)) for k in range(6)]  # 6 images, 1 part
    records += [_capture(f"dent_{k}.png", f"D{k}", 10 + k, tags=("dent",)) for k in range(3)]  # 3 parts
    records += [_capture(f"chip_{k}.png", f"C{k}", 20 + k, tags=("chip",)) for k in range(5)]  # 5 parts
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "diversity.distinct_objects", {"min_objects": 2, "target_objects": 4})
    found = {f.label: f for f in result.findings}
    assert set(found) == {"scratch", "dent"}
    assert found["scratch"].severity == "warning" and found["scratch"].evidence == {
        "objects": 1, "images": 6, "min_objects": 2, "target_objects": 4}
    assert found["scratch"].paths == ["scratch_0.png"]  # one example per object
    assert found["dent"].severity == "info" and found["dent"].evidence["objects"] == 3
    assert result.summary["objects_per_class"] == {"chip": 5, "dent": 3, "scratch": 1}


def test_classes_with_enough_objects_pass(tmp_path: Path) -> None:
    records = [_capture(f"scratch_{k}.png", f"S{k}", k, tags=("scratch",)) for k in range(4)]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "diversity.distinct_objects", {"min_objects": 2, "target_objects": 4}).findings == []
