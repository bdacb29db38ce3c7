"""Small generated image datasets with a known learning-curve shape, in image_folder layout
(``root/<split>/<class>/x.png``), imported into a fresh dataset."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from keepsight.config import CONFIG_NAME, dump_config
from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from keepsight.storage.blobs import atomic_write_bytes


def _save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L").save(path)


def _texture(rng: np.random.Generator, side: int, level: float, spread: float) -> np.ndarray:
    base = rng.normal(level, spread, (side // 4, side // 4)).astype(np.float32)
    return cv2.resize(base, (side, side), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 6, (side, side))


def easy_classes(root: Path, *, train: int = 48, test: int = 24, side: int = 48, seed: int = 0) -> Path:
    """Dark vs bright textures: any trainer separates them from the first handful of images."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        for k in range(count):
            label = ("dark", "bright")[k % 2]
            _save(root / split / label / f"{split}_{k:03d}.png", _texture(rng, side, 70 if label == "dark" else 180, 25))
    return root


def hard_classes(root: Path, *, train: int = 240, test: int = 160, side: int = 40, seed: int = 0) -> Path:
    """A weak signal under strong nuisance variation: one faint stripe orientation against random
    brightness, contrast and noise. Few images overfit; the test score keeps rising with more."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    for split, count in (("train", train), ("test", test)):
        for k in range(count):
            label = ("h", "v")[k % 2]
            phase = rng.uniform(0, 2 * np.pi)
            coord = yy if label == "h" else xx
            stripes = 7.0 * np.sin(coord * 2 * np.pi / rng.uniform(5, 9) + phase)
            img = _texture(rng, side, rng.uniform(60, 190), rng.uniform(10, 45)) + stripes
            _save(root / split / label / f"{split}_{k:03d}.png", img)
    return root


def anomaly_images(root: Path, *, good_train: int = 40, good_test: int = 20, bad_test: int = 20, side: int = 64,
                   varied: bool = False, seed: int = 0) -> Path:
    """Good images are stripes plus noise; NG (test only) add a bright spot or a dark scratch.

    ``varied=False``: every good image has the same stripes (aligned, as from a fixed camera), so a
    few good images cover what normal looks like and the curve saturates at once. ``varied=True``: each good image has its
    own angle and period, and a test image at an angle no training image had looks abnormal, so
    the score keeps improving as more good images cover the range.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)

    def good() -> np.ndarray:
        angle = rng.uniform(0, np.pi) if varied else 0.3
        period = rng.uniform(6, 12) if varied else 8.0
        coord = xx * np.cos(angle) + yy * np.sin(angle)
        phase = rng.uniform(0, 2 * np.pi) if varied else 0.0  # uniform images are aligned, too
        return 128 + 40 * np.sin(coord * 2 * np.pi / period + phase) + rng.normal(0, 6, (side, side))

    for k in range(good_train):
        _save(root / "train" / "OK" / f"g{k:03d}.png", good())
    for k in range(good_test):
        _save(root / "test" / "OK" / f"t{k:03d}.png", good())
    for k in range(bad_test):
        img = good()
        x, y = (int(v) for v in rng.integers(12, side - 12, 2))
        if k % 2 == 0:
            cv2.line(img, (x - 8, y - 4), (x + 8, y + 4), 60.0, 1)
            kind = "scratch"
        else:
            cv2.circle(img, (x, y), 3, 190.0, -1)
            kind = "spot"
        _save(root / "test" / kind / f"b{k:03d}.png", img)
    return root


def imported(tmp: Path, source: Path, name: str = "ds") -> Dataset:
    """A new dataset holding ``source``, set to one process (the tests run on shared small machines)."""
    with Dataset.init(tmp / name) as ds:
        ds.config.ingest.workers = 1
        ds.config.curve.workers = 1
        ds.config.curve.cnn_threads = 1
        atomic_write_bytes(ds.root / CONFIG_NAME, dump_config(ds.config).encode("utf-8"))
        import_path(ds, source)
    return Dataset.open(tmp / name)


def many_classes(root: Path, *, train: int = 480, test: int = 240, side: int = 32, seed: int = 0) -> Path:
    """Eight classes on a brightness x contrast grid, with jitter and texture nuisance: two images per
    class say little, hundreds pin the class regions down. The test score keeps rising with more data."""
    rng = np.random.default_rng(seed)
    levels = [(b, c) for b in (70, 105, 140, 175) for c in (10, 28)]
    for split, count in (("train", train), ("test", test)):
        for k in range(count):
            cls = k % len(levels)
            brightness, contrast = levels[cls]
            img = _texture(rng, side, brightness + rng.normal(0, 9), max(2.0, contrast + rng.normal(0, 5)))
            _save(root / split / f"c{cls}" / f"{split}_{k:03d}.png", img)
    return root


def boxes_coco(root: Path, *, train: int = 24, test: int = 8, side: int = 64, seed: int = 0) -> Path:
    """COCO detection data: one bright square per image near a fixed spot (class 'blob')."""
    import json

    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        images, annotations = [], []
        for k in range(count):
            img = rng.normal(90, 8, (side, side))
            x, y = (int(v) for v in 20 + rng.integers(-2, 3, 2))
            img[y : y + 16, x : x + 16] = 200
            name = f"{split}_{k:03d}.png"
            _save(root / "images" / split / name, img)
            images.append({"id": k + 1, "file_name": name, "width": side, "height": side})
            annotations.append({"id": k + 1, "image_id": k + 1, "category_id": 1, "bbox": [x, y, 16, 16],
                                "area": 256, "iscrowd": 0})
        body = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "blob"}]}
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(body), encoding="utf-8")
    return root
