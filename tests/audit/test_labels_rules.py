"""labels.*: the rule-based label checks (tools, verdicts vs regions, overlaps, orientation, OCR text)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from keepsight.model.labelbook import LabelBook
from tests.audit.build import dataset_from, run_check


def _box(label: str, geometry: list[float], **attributes: object) -> dict[str, object]:
    return {"kind": "box", "label": label, "geometry": geometry, "attributes": attributes}


def _poly(label: str, geometry: list[float]) -> dict[str, object]:
    return {"kind": "polygon", "label": label, "geometry": geometry}


def _rbox(label: str, angle: float, cx: float = 60) -> dict[str, object]:
    return {"kind": "rotated_box", "label": label, "geometry": [cx, 48, 30, 10, angle]}


def _mask(label: str, rows: slice, cols: slice) -> dict[str, object]:
    pixels = np.zeros((96, 128), np.uint8)
    pixels[rows, cols] = 1
    rle = mask_utils.encode(np.asfortranarray(pixels))
    return {"kind": "mask", "label": label, "geometry": {"size": [96, 128], "counts": rle["counts"].decode()}}


# -- labels.kind_mismatch ----------------------------------------------------------------------

def test_mixed_and_disallowed_tools_are_found(tmp_path: Path) -> None:
    records = [{"image": f"s{i}.png", "annotations": [_box("scratch", [5, 5, 20, 20])]} for i in range(3)]
    records.append({"image": "odd.png", "annotations": [_poly("scratch", [5, 5, 20, 5, 20, 20])]})
    records.append({"image": "dent.png", "annotations": [_rbox("dent", 30)]})
    with dataset_from(tmp_path, records) as ds:
        book = ds.labelbook()
        book.classes["dent"].kinds = ["box"]  # the label book is edited to say how dents are drawn
        ds.set_labelbook(LabelBook.model_validate(book.model_dump()))
        result = run_check(ds, "labels.kind_mismatch")
    by_label = {f.label: f for f in result.findings}
    assert set(by_label) == {"scratch", "dent"}
    mixed = by_label["scratch"]
    assert mixed.paths == ["odd.png"] and mixed.severity == "warning"
    assert mixed.evidence["tools"] == {"box": 3, "polygon/mask": 1} and mixed.evidence["boxes"] == [[5, 5, 20, 20]]
    wrong = by_label["dent"]
    assert wrong.paths == ["dent.png"] and wrong.severity == "error" and wrong.evidence["used"] == ["rotated_box"]


def test_one_tool_per_class_passes(tmp_path: Path) -> None:
    records = [
        {"image": "a.png", "tags": ["scratch"], "annotations": [_box("scratch", [5, 5, 20, 20])]},  # tag + regions
        {"image": "b.png", "annotations": [_poly("dent", [5, 5, 20, 5, 20, 20]), _mask("dent", slice(1, 5), slice(1, 5))]},
    ]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "labels.kind_mismatch").findings == []


# -- labels.ng_without_regions / labels.ok_with_regions ----------------------------------------------

BOOK = {"classes": {"scratch": {"name": "scratch", "is_defect": True}, "logo": {"name": "logo", "is_defect": False},
                    "dent": {"name": "dent"}}}


def test_defect_images_without_regions_are_found(tmp_path: Path) -> None:
    records = [
        {"image": "ng_boxed.png", "verdict": "NG", "annotations": [_box("scratch", [5, 5, 20, 20])]},
        {"image": "ng_bare.png", "verdict": "NG"},
        {"image": "tagged_bare.png", "tags": ["scratch"]},
        {"image": "dent_tag.png", "tags": ["dent"]},  # unknown is_defect, but dents are drawn elsewhere
        {"image": "dent_drawn.png", "annotations": [_box("dent", [5, 5, 20, 20])]},
        {"image": "ok_bare.png", "verdict": "OK"},
        {"image": "ok_folder_tag.png", "verdict": "OK", "tags": ["scratch"]},  # a stated OK outweighs a tag
        {"image": "logo_tag.png", "tags": ["logo"]},
    ]
    with dataset_from(tmp_path, records, labelbook=BOOK) as ds:
        result = run_check(ds, "labels.ng_without_regions")
        assert sorted(f.paths[0] for f in result.findings) == ["dent_tag.png", "ng_bare.png", "tagged_bare.png"]
        strict = run_check(ds, "labels.ng_without_regions", {"infer_defect_classes": False})
        assert sorted(f.paths[0] for f in strict.findings) == ["ng_bare.png", "tagged_bare.png"]


def test_region_checks_skip_tag_only_datasets_and_pass_clean_data(tmp_path: Path) -> None:
    with dataset_from(tmp_path / "tags", [{"image": "a.png", "verdict": "NG", "tags": ["scratch"]}]) as ds:
        assert run_check(ds, "labels.ng_without_regions").status == "skipped"
    records = [{"image": "ng.png", "verdict": "NG", "annotations": [_box("scratch", [5, 5, 20, 20])]},
               {"image": "ok.png", "verdict": "OK", "annotations": [_box("logo", [5, 5, 20, 20])]}]
    with dataset_from(tmp_path / "clean", records, labelbook=BOOK) as ds:
        assert run_check(ds, "labels.ng_without_regions").findings == []
        assert run_check(ds, "labels.ok_with_regions").findings == []


def test_good_images_with_defect_regions_are_found(tmp_path: Path) -> None:
    records = [
        {"image": "ok_scratch.png", "verdict": "OK", "annotations": [_box("scratch", [5, 6, 20, 21]),
                                                                      _box("logo", [40, 40, 60, 60])]},
        {"image": "ok_logo.png", "verdict": "OK", "annotations": [_box("logo", [5, 5, 20, 20])]},
        {"image": "ng_scratch.png", "verdict": "NG", "annotations": [_box("scratch", [5, 5, 20, 20])]},
    ]
    with dataset_from(tmp_path, records, labelbook=BOOK) as ds:
        [finding] = run_check(ds, "labels.ok_with_regions").findings
    assert finding.paths == ["ok_scratch.png"] and finding.label == "scratch" and len(finding.annotations) == 1
    assert finding.evidence["boxes"] == [[5, 6, 20, 21]]


# -- labels.overlap_conflict ---------------------------------------------------------------------------

def test_regions_of_two_classes_on_one_spot_are_found(tmp_path: Path) -> None:
    records = [
        {"image": "twice.png", "annotations": [_box("scratch", [10, 10, 50, 50]), _box("dent", [12, 12, 52, 52])]},
        {"image": "mask_poly.png", "annotations": [_mask("dent", slice(20, 40), slice(20, 60)),
                                                   _poly("scratch", [20, 20, 60, 20, 60, 40, 20, 40])]},
        {"image": "apart.png", "annotations": [_box("scratch", [0, 0, 20, 20]), _box("dent", [30, 30, 60, 60])]},
        {"image": "same_class.png", "annotations": [_box("dent", [10, 10, 50, 50]), _box("dent", [10, 10, 50, 50])]},
        {"image": "nested.png", "annotations": [_box("dent", [0, 0, 80, 80]), _box("scratch", [10, 10, 20, 20])]},
    ]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "labels.overlap_conflict")
        found = {f.paths[0]: f for f in result.findings}
        assert set(found) == {"twice.png", "mask_poly.png"}
        assert found["twice.png"].evidence["iou"] == pytest.approx(1444 / 1756, abs=1e-3)
        assert found["mask_poly.png"].evidence["iou"] > 0.9 and len(found["mask_poly.png"].annotations) == 2
        nested = run_check(ds, "labels.overlap_conflict", {"min_containment": 0.9})
        assert "nested.png" in {f.paths[0] for f in nested.findings}
        allowed = run_check(ds, "labels.overlap_conflict", {"allowed_pairs": [["dent", "scratch"]]})
        assert allowed.findings == []


def test_separate_regions_do_not_conflict(tmp_path: Path) -> None:
    records = [{"image": "a.png", "annotations": [_box("scratch", [0, 0, 20, 20]), _box("dent", [15, 15, 60, 60])]}]
    with dataset_from(tmp_path, records) as ds:
        assert run_check(ds, "labels.overlap_conflict").findings == []


# -- labels.orientation ----------------------------------------------------------------------------------

ORIENTED = {"classes": {"arrow": {"name": "arrow", "orientation": "directed"},
                        "hole": {"name": "hole", "orientation": "none"},
                        "slot": {"name": "slot", "orientation": "axial"}}}


def _angles_dataset(tmp_path: Path, arrow_angles: list[float], hole_angles: list[float]):  # type: ignore[no-untyped-def]
    records = [{"image": f"arrow{i}.png", "annotations": [_rbox("arrow", a)]} for i, a in enumerate(arrow_angles)]
    records += [{"image": f"hole{i}.png", "annotations": [_rbox("hole", a)]} for i, a in enumerate(hole_angles)]
    records += [{"image": f"slot{i}.png", "annotations": [_rbox("slot", a)]} for i, a in enumerate((10, 100, 170))]
    return dataset_from(tmp_path, records, labelbook=ORIENTED)


def test_folded_heads_and_rotated_round_things_are_found(tmp_path: Path) -> None:
    folded = [float(a) for a in np.linspace(-85, 85, 14)]  # a tool that writes angles in [-90, 90)
    with _angles_dataset(tmp_path, folded, [0, 90, 37]) as ds:
        result = run_check(ds, "labels.orientation")
    by_label = {f.label: f for f in result.findings}
    assert set(by_label) == {"arrow", "hole"}
    assert by_label["arrow"].severity == "warning" and len(by_label["arrow"].paths) == 14
    assert 169 < by_label["arrow"].evidence["arc_width"] < 180
    assert by_label["hole"].severity == "info" and by_label["hole"].paths == ["hole2.png"]


def test_marked_heads_and_one_way_parts_pass(tmp_path: Path) -> None:
    full_turn = [float(a) for a in np.linspace(0, 350, 14)]
    with _angles_dataset(tmp_path / "turn", full_turn, [0, 90, 180]) as ds:
        assert run_check(ds, "labels.orientation").findings == []
    one_way = [float(a) for a in np.linspace(-20, 20, 14)]  # parts on a conveyor all face one way
    with _angles_dataset(tmp_path / "conveyor", one_way, [0]) as ds:
        assert run_check(ds, "labels.orientation").findings == []
    with dataset_from(tmp_path / "plain", [{"image": "a.png", "annotations": [_box("arrow", [1, 1, 9, 9])]}]) as ds:
        assert run_check(ds, "labels.orientation").status == "skipped"


# -- labels.ocr_coverage -------------------------------------------------------------------------------------

def _ocr_dataset(tmp_path: Path, train: list[str], test: list[str]):  # type: ignore[no-untyped-def]
    records = [{"image": f"train/{i}.png", "split": "train", "annotations": [_box("serial", [5, 5, 60, 20], text=t)]}
               for i, t in enumerate(train)]
    records += [{"image": f"test/{i}.png", "split": "test", "annotations": [_box("serial", [5, 5, 60, 20], text=t)]}
                for i, t in enumerate(test)]
    return dataset_from(tmp_path, records)


def test_characters_missing_from_train_and_rare_ones_are_found(tmp_path: Path) -> None:
    train = ["AB12"] * 12 + ["AB1Q"]
    with _ocr_dataset(tmp_path, train, ["AB12", "ZZ21"]) as ds:
        result = run_check(ds, "labels.ocr_coverage", {"min_examples": 5})
    by_char = {f.evidence.get("character"): f for f in result.findings if "character" in f.evidence}
    assert set(by_char) == {"Z", "Q"}
    assert by_char["Z"].severity == "error" and by_char["Z"].paths == ["test/1.png"]
    assert by_char["Z"].evidence["count"] == 2
    assert by_char["Q"].severity == "warning" and by_char["Q"].paths == ["train/12.png"]
    [untested] = [f for f in result.findings if f.severity == "info"]
    assert untested.evidence["characters"] == ["Q"]


def test_text_covered_in_every_split_passes(tmp_path: Path) -> None:
    with _ocr_dataset(tmp_path, ["AB 12"] * 10, ["21 BA", "A1"]) as ds:
        assert run_check(ds, "labels.ocr_coverage").findings == []
    with dataset_from(tmp_path / "plain", [{"image": "a.png", "annotations": [_box("dent", [1, 1, 9, 9])]}]) as ds:
        assert run_check(ds, "labels.ocr_coverage").status == "skipped"


def test_a_declared_label_book_is_not_widened_by_import_so_the_wrong_tool_is_reported(tmp_path: Path) -> None:
    from keepsight.audit.runner import run_audit

    book = {"classes": {"scratch": {"name": "scratch", "kinds": ["polygon"]}}}
    records = [{"image": "a.png", "annotations": [{"kind": "box", "label": "scratch", "geometry": [5, 5, 40, 30]}]}]
    with dataset_from(tmp_path, records, labelbook=book) as ds:
        assert ds.labelbook().classes["scratch"].kinds == ["polygon"]
        report = run_audit(ds, only=["labels.kind_mismatch"], save=False)
        assert [f.paths for f in report.findings] == [["a.png"]]
