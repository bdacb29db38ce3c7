"""labels.capture_conflict: captures of one object (a shared serial, a near duplicate) whose labels disagree."""

from __future__ import annotations

from pathlib import Path

from tests.audit.build import dataset_from, run_check, textured
from tests.similarity import synth


def _box(label: str) -> dict[str, object]:
    return {"kind": "box", "label": label, "geometry": [20, 20, 60, 60]}


def test_conflicting_captures_are_found(tmp_path: Path) -> None:
    view = textured(40, (240, 320))
    records = [
        {"image": "p1/top.png", "verdict": "OK", "metadata": {"part_serial": "P1"}, "seed": 1},
        {"image": "p1/side.png", "verdict": "NG", "metadata": {"part_serial": "P1"}, "seed": 2},
        {"image": "p2/top.png", "tags": ["chip"], "metadata": {"part_serial": "P2"}, "seed": 3},
        {"image": "p2/side.png", "tags": ["crack"], "metadata": {"part_serial": "P2"}, "seed": 4},
        {"image": "p3/top.png", "verdict": "NG", "metadata": {"part_serial": "P3"}, "seed": 5},
        {"image": "p3/side.png", "verdict": "NG", "metadata": {"part_serial": "P3"}, "seed": 6},
        {"image": "v/a.png", "pixels": view, "annotations": [_box("chip")]},
        {"image": "v/a_again.png", "pixels": synth.rotate(view, 12), "annotations": [_box("crack")]},
    ]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "labels.capture_conflict")
    found = {tuple(sorted(f.paths)): f for f in result.findings}
    assert set(found) == {("p1/side.png", "p1/top.png"), ("p2/side.png", "p2/top.png"), ("v/a.png", "v/a_again.png")}
    assert found[("p1/side.png", "p1/top.png")].evidence["verdicts"] == {"p1/top.png": "OK", "p1/side.png": "NG"}
    assert found[("p2/side.png", "p2/top.png")].evidence["classes"] == {"p2/top.png": "chip", "p2/side.png": "crack"}
    same_view = found[("v/a.png", "v/a_again.png")]
    assert same_view.evidence["reason"] == "near" and set(same_view.evidence["boxes_by_path"]) == set(same_view.paths)


def test_consistent_captures_pass(tmp_path: Path) -> None:
    view = textured(40, (240, 320))
    records = [
        {"image": "p1/top.png", "verdict": "NG", "tags": ["chip"], "metadata": {"part_serial": "P1"}, "seed": 1},
        {"image": "p1/side.png", "verdict": "NG", "tags": ["chip"], "metadata": {"part_serial": "P1"}, "seed": 2},
        {"image": "p2/top.png", "verdict": "OK", "metadata": {"part_serial": "P2"}, "seed": 3},
        {"image": "p2/side.png", "metadata": {"part_serial": "P2"}, "seed": 4},  # no verdict: nothing to contradict
        {"image": "v/a.png", "pixels": view, "annotations": [_box("chip")]},
        {"image": "v/a_again.png", "pixels": synth.rotate(view, 12), "annotations": [_box("chip")]},
    ]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "labels.capture_conflict")
        assert result.findings == [] and result.summary["groups"] == 3
