"""Small generated image datasets with a known learning-curve shape, in image_folder layout
(``root/<split>/<class>/x.png``), imported into a fresh dataset."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path


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


def anomaly_images(root: Path, *, good_train: int = 40, good_test: int = 16, bad_test: int = 16, side: int = 96,
                   seed: int = 0) -> Path:
    """Good: a fine random texture. NG (test only): the same texture with a dark scratch or a bright spot."""
    rng = np.random.default_rng(seed)

    def good() -> np.ndarray:
        return _texture(rng, side, 128, 12)

    for k in range(good_train):
        _save(root / "train" / "OK" / f"g{k:03d}.png", good())
    for k in range(good_test):
        _save(root / "test" / "OK" / f"t{k:03d}.png", good())
    for k in range(bad_test):
        img = good()
        x, y = (int(v) for v in rng.integers(16, side - 16, 2))
        if k % 2 == 0:
            cv2.line(img, (x - 12, y - 6), (x + 12, y + 6), 40.0, 2)
            kind = "scratch"
        else:
            cv2.circle(img, (x, y), 5, 230.0, -1)
            kind = "spot"
        _save(root / "test" / kind / f"b{k:03d}.png", img)
    return root


def imported(tmp: Path, source: Path, name: str = "ds") -> Dataset:
    ds = Dataset.init(tmp / name)
    import_path(ds, source)
    return ds
