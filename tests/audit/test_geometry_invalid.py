"""geometry.invalid: degenerate stored regions, regions sticking out, and geometry the importer refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from tests.audit.build import dataset_from, run_check

BOOK = {"classes": {"scratch": {"name": "scratch"}, "dent": {"name": "dent"}}}


def _rle(pixels: np.ndarray) -> dict[str, object]:
    rle = mask_utils.encode(np.asfortranarray(pixels.astype(np.uint8)))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


def _box(label: str, geometry: list[float]) -> dict[str, object]:
    return {"kind": "box", "label": label, "geometry": geometry}


def test_planted_bad_geometry_is_found(tmp_path: Path) -> None:
    blob = np.zeros((96, 128), bool)
    blob[20:40, 30:60] = True
    records = [
        {"image": "zero.png", "annotations": [_box("scratch", [10, 10, 10, 30]), _box("scratch", [50, 50, 70, 70])]},
        {"image": "bowtie.png", "annotations": [
            {"kind": "polygon", "label": "dent", "geometry": [0, 0, 20, 20, 20, 0, 0, 20]}]},
        {"image": "empty_mask.png", "annotations": [
            {"kind": "mask", "label": "dent", "geometry": _rle(np.zeros((96, 128), bool))},
            {"kind": "mask", "label": "dent", "geometry": _rle(blob)}]},
        {"image": "outside.png", "annotations": [_box("scratch", [100, 10, 140, 40])]},  # 12 px past the 128 px width
        {"image": "nan.png", "annotations": [_box("scratch", [1, "NaN", 5, 5]), _box("scratch", [1, 1, 5, 5])]},
        {"image": "undeclared.png", "annotations": [_box("chip", [1, 1, 5, 5])]},  # a class problem, not geometry
    ]
    with dataset_from(tmp_path, records, labelbook=BOOK, skip_bad=True) as ds:
        result = run_check(ds, "geometry.invalid")
    found = {(f.paths[0], f.severity): f for f in result.findings}
    assert set(found) == {("zero.png", "error"), ("bowtie.png", "error"), ("empty_mask.png", "error"),
                          ("outside.png", "warning"), ("keepsight-manifest.jsonl", "error")}
    zero = found[("zero.png", "error")]
    assert len(zero.annotations) == 1 and zero.evidence["boxes"] == [[10.0, 10.0, 10.0, 30.0]]
    assert "zero size" in zero.evidence["reasons"][0]
    assert "self-intersecting" in found[("bowtie.png", "error")].message
    assert "empty mask" in found[("empty_mask.png", "error")].message
    assert len(found[("empty_mask.png", "error")].annotations) == 1
    outside = found[("outside.png", "warning")]
    assert outside.evidence["overshoot_px"] == [12.0] and outside.evidence["image_size"] == [128, 96]
    refused = found[("keepsight-manifest.jsonl", "error")]
    assert "NaN" in refused.message and "line 6" in refused.evidence["element"]
    assert result.summary == {"refused_at_import": 1, "degenerate_regions": 3, "regions_outside": 1}


def test_sound_geometry_passes(tmp_path: Path) -> None:
    blob = np.zeros((96, 128), bool)
    blob[5:9, 5:9] = True
    records = [{"image": "a.png", "annotations": [
        _box("scratch", [0, 0, 128, 96]),  # the whole image is fine
        _box("scratch", [-0.5, 3, 20, 96.5]),  # within the 1 px tolerance
        {"kind": "rotated_box", "label": "dent", "geometry": [64, 48, 30, 10, 33]},
        {"kind": "polygon", "label": "dent", "geometry": [10, 10, 30, 10, 30, 30, 10, 30]},
        {"kind": "polyline", "label": "dent", "geometry": [1, 1, 50, 60]},
        {"kind": "points", "label": "dent", "geometry": [3, 4]},
        {"kind": "mask", "label": "dent", "geometry": _rle(blob)},
    ]}]
    with dataset_from(tmp_path, records, labelbook=BOOK) as ds:
        assert run_check(ds, "geometry.invalid").findings == []
