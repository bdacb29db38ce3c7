"""balance.class_counts: rare classes, classes of the label book nobody used, and strong imbalance."""

from __future__ import annotations

from pathlib import Path

from tests.audit.build import dataset_from, run_check

BOOK = {"classes": {**{name: {"name": name} for name in ("scratch", "dent", "chip", "stain")},
                    "good": {"name": "good", "is_defect": False}}}


def _images(label: str, n: int, start: int) -> list[dict[str, object]]:
    return [{"image": f"{label}_{k}.png", "tags": [label], "seed": start + k} for k in range(n)]


def test_rare_unused_and_dwarfed_classes_are_found(tmp_path: Path) -> None:
    records = _images("scratch", 40, 0) + _images("dent", 12, 100) + _images("chip", 3, 200)
    records += _images("good", 125, 300)  # 3x the largest defect class: not an imbalance to fix
    with dataset_from(tmp_path, records, labelbook=BOOK) as ds:
        result = run_check(ds, "balance.class_counts", {"max_ratio": 3})
    found = {f.label: f for f in result.findings}
    assert set(found) == {"chip", "stain", "dent"}
    assert found["chip"].severity == "warning" and found["chip"].evidence["images"] == 3
    assert sorted(found["chip"].paths) == ["chip_0.png", "chip_1.png", "chip_2.png"]
    assert found["stain"].evidence["images"] == 0 and found["stain"].paths == []
    assert found["dent"].severity == "info" and found["dent"].evidence["ratio"] == round(40 / 12, 2)


def test_balanced_classes_pass(tmp_path: Path) -> None:
    records = _images("scratch", 12, 0) + _images("dent", 10, 100)
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "balance.class_counts").findings == []
