"""A small dataset of one synthetic station (training split) and a drift config sized for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.dataset import Dataset
from keepsight.drift.config import DriftConfig, ThresholdConfig, WindowConfig
from keepsight.drift.reference import build_reference
from keepsight.ingest.importer import import_path
from tests.drift import synth

TRAIN = 40


def write_training(folder: Path, seed: int = 1, prefix: str = "train") -> Path:
    """Training captures, filed under class folders so the samples carry labels."""
    rng = np.random.default_rng(seed)
    scene = synth.world(0)
    for k in range(TRAIN):
        label = "scratch" if k % 4 == 0 else "ok"
        path = folder / label / f"{prefix}_{k:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(synth.capture(scene, rng), cv2.COLOR_RGB2BGR))
    return folder


def small_config(**changes: object) -> DriftConfig:
    base = DriftConfig(window=WindowConfig(size=20, step=10, min_images=10), thresholds=ThresholdConfig(),
                       permutations=500)
    return base.model_copy(update=changes)


@pytest.fixture(scope="session")
def station_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset with its reference built once; tests copy it (runs and policy state stay per test)."""
    base = tmp_path_factory.mktemp("station")
    src = write_training(base / "src")
    with Dataset.init(base / "ds") as ds:
        import_path(ds, src, format="image_folder", split="train")
        build_reference(ds, config=small_config(), workers=1)
    return base / "ds"


@pytest.fixture
def station(station_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ds"
    shutil.copytree(station_template, target)
    return target
