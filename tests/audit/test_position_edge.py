"""position.edge: regions within a margin of the image border, with per-class margins."""

from __future__ import annotations

from pathlib import Path

from tests.audit.build import dataset_from, run_check


def _box(label: str, geometry: list[float]) -> dict[str, object]:
    return {"kind": "box", "label": label, "geometry": geometry}


def test_regions_at_the_border_are_found(tmp_path: Path) -> None:
    # The images are 128 x 96: the default margin is 2% of 96 px = 1.92 px.
    records = [
        {"image": "left.png", "annotations": [_box("dent", [0, 30, 20, 50]), _box("dent", [50, 30, 70, 50])]},
        {"image": "bottom_right.png", "annotations": [_box("dent", [100, 70, 127.5, 95])]},
        {"image": "near.png", "annotations": [_box("scratch", [10, 30, 40, 50])]},  # 10 px in: only with 32 px
        {"image": "centre.png", "annotations": [_box("dent", [40, 30, 80, 60])]},
    ]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "position.edge")
        found = {f.paths[0]: f for f in result.findings}
        assert set(found) == {"left.png", "bottom_right.png"}
        left = found["left.png"]
        assert left.severity == "info" and len(left.annotations) == 1
        assert left.evidence["boxes"] == [[0, 30, 20, 50]] and left.evidence["sides"] == [["left"]]
        assert left.evidence["margins_px"] == [1.9]
        assert found["bottom_right.png"].evidence["sides"] == [["right", "bottom"]]
        wide = run_check(ds, "position.edge", {"margin": 4, "per_class": {"scratch": 32}})
        assert {f.paths[0] for f in wide.findings} == {"left.png", "bottom_right.png", "near.png"}
        assert next(f for f in wide.findings if f.paths == ["near.png"]).evidence["margins_px"] == [32]


def test_regions_away_from_the_border_pass(tmp_path: Path) -> None:
    records = [{"image": "a.png", "annotations": [_box("dent", [10, 10, 110, 80])]}]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "position.edge", {"margin": 8}).findings == []
    with dataset_from(tmp_path / "tags", [{"image": "a.png", "tags": ["dent"]}]) as ds:
        assert run_check(ds, "position.edge").status == "skipped"
