"""Acceptance: the format samples made by other tools import into a dataset, and exporting a
dataset in the same format then importing the export keeps every annotation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from keepsight import Dataset, dataset_info, export_dataset, import_path
from keepsight.model import Annotation

DATUMARO = "datumaro-test-assets/tests/assets"
HUB = "ultralytics-hub-examples/example_datasets"

# (sample folder, format, expected samples, expected annotations per kind)
SAMPLES = [
    (f"{DATUMARO}/coco_dataset/coco_instances", "coco", 2, {"box": 1, "polygon": 1, "mask": 1}),
    (f"{DATUMARO}/voc_dataset/voc_dataset1", "voc", 2, None),
    (f"{DATUMARO}/yolo_dataset/labels", "yolo", 2, {"box": 4}),
    (f"{DATUMARO}/yolo_dataset/strict", "yolo", 1, {"box": 2}),
    (f"{DATUMARO}/cvat_dataset/for_images/export_project", "cvat", 6, None),
    (f"{DATUMARO}/dota_dataset", "dota", 3, {"rotated_box": 4}),
    (f"{DATUMARO}/labelme_dataset", "labelme", 1, {"polygon": 4, "box": 1, "mask": 2}),
    (f"{DATUMARO}/mvtec_dataset", "mvtec", 3, None),
    (f"{HUB}/coco8", "yolo", 8, {"box": 30}),
    (f"{HUB}/coco8-seg", "yolo", 8, {"polygon": 30}),
    (f"{HUB}/dota8", "yolo", 8, {"rotated_box": 133}),
    (f"{HUB}/imagenet10", "yolo", 20, {"tag": 20}),
    ("label-studio-converter-tests/tests/data/test_import_yolo_data", "yolo", 7, {"box": 25}),
]


def by_stem(ds: Dataset) -> dict[str, list[Annotation]]:
    """Annotations keyed by file stem (exports move files between folders but keep stems;
    two samples with the same stem in different splits pool their annotations)."""
    pooled: dict[str, list[Annotation]] = {}
    for sample, annotations in ds.samples_with_annotations():
        pooled.setdefault(Path(sample.path).stem, []).extend(annotations)
    return pooled


def kind_counts(ds: Dataset) -> dict[str, int]:
    return {k: n for k, n in dataset_info(ds)["annotations"].items() if n}


@pytest.mark.slow
@pytest.mark.parametrize(("folder", "fmt", "n_samples", "kinds"), SAMPLES, ids=[s[0].split("/")[-1] for s in SAMPLES])
def test_sample_imports_and_round_trips(shared_data: Path, tmp_path: Path, folder, fmt, n_samples, kinds) -> None:
    source = shared_data / folder
    ds = Dataset.init(tmp_path / "ds")
    report = import_path(ds, source, format=fmt)
    assert report.added == n_samples
    counts = kind_counts(ds)
    assert sum(counts.values()) > 0
    if kinds is not None:
        assert counts == kinds

    export = export_dataset(ds, tmp_path / "export", format=fmt)
    again = Dataset.init(tmp_path / "again")
    import_path(again, tmp_path / "export", format=fmt)
    before, after = by_stem(ds), by_stem(again)
    assert set(after) == set(before)
    kept_kinds = Counter(a.kind for anns in after.values() for a in anns)
    for stem, annotations in before.items():
        for annotation in annotations:
            # 1e-2 px: YOLO stores 6-decimal normalised coordinates.
            matched = any(annotation.same_content(other, tol=1e-2) for other in after[stem])
            if not matched:
                # A lossy conversion is allowed only if the export reported it.
                assert export.losses, f"{stem}: {annotation} lost without a warning"
    if not export.losses:
        assert kept_kinds == Counter(a.kind for anns in before.values() for a in anns)


@pytest.mark.slow
def test_label_studio_exports_parse_and_report_their_absent_images(shared_data: Path, tmp_path: Path) -> None:
    """The Label Studio samples ship without their images: with --skip-bad every task is read,
    and each absent image is recorded as a problem naming it; nothing is invented."""
    export = shared_data / "label-studio-converter-tests/tests/data/test_export_yolo/data.json"
    ds = Dataset.init(tmp_path / "ds")
    report = import_path(ds, export, format="labelstudio", skip_bad=True)
    assert report.added == 0
    assert report.problems and all("does not exist" in p.reason for p in report.problems)
    assert dataset_info(ds)["import_problems"] == len(report.problems)
