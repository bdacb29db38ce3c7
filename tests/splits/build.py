"""Small datasets for the split and version tests, written in the keepsight manifest format.

Each record is a manifest record (docs/formats/manifest.md); its image is a textured random
picture unique to ``seed`` (default: the record's index), so no two records share bytes unless
a test gives them the same seed on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path


def textured(seed: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.full((h, w), 90, np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (x, y), int(rng.integers(2, 8)), int(rng.integers(0, 255)), -1)
    return img


def write_records(folder: Path, records: list[dict[str, Any]], *, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, rec in enumerate(records, start=start):
        rec = dict(rec)
        seed = rec.pop("seed", i)
        path = folder / rec["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), textured(seed))
        lines.append(json.dumps(rec))
    manifest = folder / "keepsight-manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def dataset_with(tmp_path: Path, catalog: str | None, records: list[dict[str, Any]], name: str = "ds") -> Dataset:
    ds = Dataset.init(tmp_path / name, catalog=catalog)
    import_path(ds, write_records(tmp_path / f"{name}-src", records), format="manifest")
    return ds


def add_records(ds: Dataset, tmp_path: Path, records: list[dict[str, Any]], *, start: int, name: str) -> None:
    """A later import of new images into an existing dataset."""
    import_path(ds, write_records(tmp_path / name, records, start=start), format="manifest")


def splits_by_path(ds: Dataset) -> dict[str, str]:
    return {s.path: s.split for s in ds.samples()}
