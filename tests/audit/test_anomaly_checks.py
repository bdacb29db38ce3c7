"""anomaly.*: defects in the good-only training split, and a test split without good images."""

from __future__ import annotations

from pathlib import Path

from tests.audit.build import dataset_from, run_check


def _images(split: str, verdict: str, n: int, start: int, **extra: object) -> list[dict[str, object]]:
    return [{"image": f"{split}/{verdict}_{start + k}.png", "split": split, "verdict": verdict, "seed": start + k,
             **extra} for k in range(n)]


def test_defects_in_the_good_training_split_are_found(tmp_path: Path) -> None:
    stray = {"image": "train/stray.png", "split": "train", "tags": ["crack"]}  # no verdict, a defect class tag
    records = _images("train", "OK", 20, 0) + _images("train", "NG", 1, 100) + [stray]
    records += _images("test", "OK", 5, 200) + _images("test", "NG", 5, 300)
    book = {"classes": {"crack": {"name": "crack", "is_defect": True}}}
    with dataset_from(tmp_path, records, labelbook=book) as ds:
        result = run_check(ds, "anomaly.contaminated_train")
        assert sorted(f.paths[0] for f in result.findings) == ["train/NG_100.png", "train/stray.png"]
        assert all(f.severity == "error" for f in result.findings)
        assert run_check(ds, "anomaly.no_good_test").findings == []


def test_a_test_split_without_good_images_is_found(tmp_path: Path) -> None:
    records = _images("train", "OK", 15, 0) + _images("test", "NG", 6, 100)
    with dataset_from(tmp_path, records) as ds:
        [finding] = run_check(ds, "anomaly.no_good_test").findings
        assert finding.split == "test" and finding.evidence["good"] == 0 and finding.evidence["defect"] == 6
        assert len(finding.paths) == 6
        assert run_check(ds, "anomaly.contaminated_train").findings == []


def test_a_clean_anomaly_dataset_passes_and_supervised_ones_are_skipped(tmp_path: Path) -> None:
    records = _images("train", "OK", 15, 0) + _images("test", "OK", 4, 100) + _images("test", "NG", 4, 200)
    with dataset_from(tmp_path / "anomaly", records) as ds:
        assert run_check(ds, "anomaly.contaminated_train").findings == []
        assert run_check(ds, "anomaly.no_good_test").findings == []
    # A supervised split: defects in train as often as in test.
    records = _images("train", "OK", 10, 0) + _images("train", "NG", 10, 100) + _images("test", "NG", 4, 200)
    with dataset_from(tmp_path / "supervised", records) as ds:
        assert run_check(ds, "anomaly.contaminated_train").status == "skipped"
        assert run_check(ds, "anomaly.no_good_test").status == "skipped"
        forced = run_check(ds, "anomaly.contaminated_train", {"anomaly": True})
        assert len(forced.findings) == 10
