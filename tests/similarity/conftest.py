"""A dataset of synthetic captures: parts on one fixture, each photographed several times."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from tests.similarity import synth

PARTS = 10
CAPTURES = 2  # extra captures per part, besides the reference image


def write_captures(folder: Path, parts: range, captures: int, seed: int) -> dict[str, int]:
    """Writes ``p<part>_c<k>.jpg`` files; returns file name -> part."""
    rng = np.random.default_rng(seed)
    truth = {}
    for p in parts:
        ref = synth.scene(p)
        images = [ref] + [synth.random_capture(ref, rng) for _ in range(captures)]
        for k, img in enumerate(images):
            name = f"p{p:02d}_c{k}_s{seed}.jpg"
            cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            truth[name] = p
    return truth


@pytest.fixture(scope="module")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    base = tmp_path_factory.mktemp("synth")
    src = base / "src"
    src.mkdir()
    truth = write_captures(src, range(PARTS), CAPTURES, seed=1)
    (src / "copy_of_p00.jpg").write_bytes((src / "p00_c0_s1.jpg").read_bytes())
    truth["copy_of_p00.jpg"] = 0
    ds = Dataset.init(base / "ds")
    import_path(ds, src, format="image_folder")
    ds.close()
    return base / "ds", truth


def write_coco(folder: Path, images: dict[str, tuple[int, int, list[list[float]]]]) -> Path:
    """A minimal COCO file: name -> (width, height, [xywh boxes]) with one class 'defect'."""
    body: dict[str, list] = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "defect"}]}
    for i, (name, (w, h, boxes)) in enumerate(images.items(), start=1):
        body["images"].append({"id": i, "file_name": name, "width": w, "height": h})
        for box in boxes:
            body["annotations"].append(
                {
                    "id": len(body["annotations"]) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    path = folder / "annotations.json"
    path.write_text(json.dumps(body))
    return path
