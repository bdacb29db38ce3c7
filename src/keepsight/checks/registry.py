"""Every built-in check, in one literal table you can grep; third parties add theirs through the
``keepsight.checks`` entry-point group (``id = "package.module:CheckClass"``).

The convention: check ``family.name`` lives in ``keepsight/checks/<family>/<name>.py``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from keepsight.checks.base import Check
from keepsight.errors import DatasetError

BUILTIN_CHECKS: dict[str, str] = {
    "integrity.unreadable": "keepsight.checks.integrity.unreadable:UnreadableImages",
    "integrity.missing_file": "keepsight.checks.integrity.missing_file:MissingFiles",
    "integrity.duplicate_file": "keepsight.checks.integrity.duplicate_file:DuplicateFiles",
    "geometry.invalid": "keepsight.checks.geometry.invalid:InvalidGeometry",
    "labels.unknown_class": "keepsight.checks.labels.unknown_class:UnknownClass",
    "labels.kind_mismatch": "keepsight.checks.labels.kind_mismatch:KindMismatch",
    "labels.ng_without_regions": "keepsight.checks.labels.ng_without_regions:NgWithoutRegions",
    "labels.ok_with_regions": "keepsight.checks.labels.ok_with_regions:OkWithRegions",
    "labels.overlap_conflict": "keepsight.checks.labels.overlap_conflict:OverlapConflict",
    "labels.suspect_class": "keepsight.checks.labels.suspect_class:SuspectClass",
    "labels.class_modes": "keepsight.checks.labels.class_modes:ClassModes",
    "labels.capture_conflict": "keepsight.checks.labels.capture_conflict:CaptureConflict",
    "labels.orientation": "keepsight.checks.labels.orientation:Orientation",
    "labels.ocr_coverage": "keepsight.checks.labels.ocr_coverage:OcrCoverage",
    "split.exact_leak": "keepsight.checks.split.exact_leak:ExactLeak",
    "split.near_leak": "keepsight.checks.split.near_leak:NearLeak",
    "split.object_leak": "keepsight.checks.split.object_leak:ObjectLeak",
    "split.missing": "keepsight.checks.split.missing:MissingSplit",
    "split.class_missing": "keepsight.checks.split.class_missing:ClassMissingFromSplit",
    "diversity.repeated_object": "keepsight.checks.diversity.repeated_object:RepeatedObject",
    "diversity.distinct_objects": "keepsight.checks.diversity.distinct_objects:DistinctObjects",
    "position.edge": "keepsight.checks.position.edge:EdgeRegions",
    "image.markings": "keepsight.checks.image.markings:Markings",
    "image.retouched": "keepsight.checks.image.retouched:Retouched",
    "image.quality": "keepsight.checks.image.quality:ImageQuality",
    "image.outlier": "keepsight.checks.image.outlier:ImageOutlier",
    "balance.class_counts": "keepsight.checks.balance.class_counts:ClassCounts",
    "anomaly.contaminated_train": "keepsight.checks.anomaly.contaminated_train:ContaminatedTrain",
    "anomaly.no_good_test": "keepsight.checks.anomaly.no_good_test:NoGoodTest",
}

ENTRY_POINT_GROUP = "keepsight.checks"


def _load(target: str) -> type[Check]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Check)):
        raise DatasetError(f"{target} is not a keepsight Check class")
    return cls


def check_targets() -> dict[str, str]:
    targets = dict(BUILTIN_CHECKS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def check_ids() -> list[str]:
    return list(check_targets())


def get_check(check_id: str) -> type[Check]:
    targets = check_targets()
    if check_id not in targets:
        raise DatasetError(f"unknown check {check_id!r}; known: {', '.join(targets)}")
    return _load(targets[check_id])
