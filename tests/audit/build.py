"""Build small datasets with planted problems for the audit's tests, through the manifest format.

``write_manifest(folder, records)`` writes images and a keepsight-manifest.jsonl; each record is a
manifest record (see docs/formats/manifest.md) plus an optional ``pixels`` array (the image to
write) or ``seed`` (a random textured image), ``raw`` bytes (a corrupt file) or ``absent: True`` (no file),
so every test plants exactly what it checks. ``run_check`` runs one check with its params.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from keepsight.audit.config import AuditConfig
from keepsight.audit.runner import build_checks, run_checks
from keepsight.checks.base import CheckResult
from keepsight.checks.context import AuditContext
from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path


def textured(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A grayscale image with structure (blobs and lines) unique to ``seed``, so descriptors find keypoints."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.full((h, w), 90, np.uint8)
    for _ in range(25):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(3, 12))
        cv2.circle(img, (x, y), r, int(rng.integers(0, 255)), -1)
        x2, y2 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.line(img, (x, y), (x2, y2), int(rng.integers(0, 255)), 1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write_manifest(folder: Path, records: list[dict[str, Any]], *, labelbook: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    if labelbook is not None:
        lines.append(json.dumps({"format": "keepsight-manifest", "version": 1, "labelbook": labelbook}))
    for i, rec in enumerate(records):
        rec = dict(rec)
        pixels = rec.pop("pixels", None)
        seed = rec.pop("seed", i)
        raw, absent = rec.pop("raw", None), rec.pop("absent", False)  # planted bad files: given bytes, or none
        if pixels is None:
            pixels = textured(seed)
        path = folder / rec["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            path.write_bytes(raw)
        elif not absent:
            cv2.imwrite(str(path), pixels)
        lines.append(json.dumps(rec))
    manifest = folder / "keepsight-manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def dataset_from(tmp_path: Path, records: list[dict[str, Any]], *, labelbook: dict[str, Any] | None = None,
                 catalog: str | None = None, skip_bad: bool = False) -> Dataset:
    src = write_manifest(tmp_path / "src", records, labelbook=labelbook)
    ds = Dataset.init(tmp_path / "ds", catalog=catalog)
    import_path(ds, src, format="manifest", skip_bad=skip_bad)
    return ds


def run_check(ds: Dataset, check_id: str, params: dict[str, Any] | None = None) -> CheckResult:
    """One check over a fresh context (describing in-process: no worker pool for a handful of images)."""
    [check] = build_checks(AuditConfig(checks={check_id: params or {}}), only=[check_id])
    [result] = run_checks(AuditContext(ds, workers=1), [check])
    assert result.status != "failed", result.reason
    return result
