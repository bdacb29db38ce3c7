"""Acceptance: every real dataset in ../shared/data imports with the matching importer, and
``keepsight info --json`` agrees with the counts its SOURCE.md states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_cli(*args: str, dataset: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEPSIGHT_DATASET": str(dataset)}
    return subprocess.run([sys.executable, "-m", "keepsight", *args], env=env, capture_output=True, text=True,
                          timeout=900)


def import_and_info(shared: Path, name: str, tmp_path: Path, expected_format: str) -> dict:
    dataset = tmp_path / name
    assert run_cli("init", str(dataset), dataset=dataset).returncode == 0
    detected = run_cli("detect", str(shared / name), "--json", dataset=dataset)
    assert detected.returncode == 0, detected.stderr
    assert json.loads(detected.stdout)[0]["format"] == expected_format
    result = run_cli("import", str(shared / name), dataset=dataset)
    assert result.returncode == 0, result.stderr
    info = run_cli("info", "--json", dataset=dataset)
    assert info.returncode == 0, info.stderr
    return json.loads(info.stdout)


def test_neu_det(shared_data: Path, tmp_path: Path) -> None:
    info = import_and_info(shared_data, "neu-det", tmp_path, "voc")
    assert info["samples"] == 1800
    assert info["annotations"]["box"] == 4189
    assert info["classes"] == {"inclusion": 1011, "patches": 881, "crazing": 689, "rolled-in_scale": 628,
                               "scratches": 548, "pitted_surface": 432} | {
        k: v for k, v in info["classes"].items() if k not in
        {"inclusion", "patches", "crazing", "rolled-in_scale", "scratches", "pitted_surface"}}
    assert len(info["classes"]) == 6


def test_deeppcb(shared_data: Path, tmp_path: Path) -> None:
    info = import_and_info(shared_data, "deeppcb", tmp_path, "deeppcb")
    assert info["samples"] == 1500 + 75  # tested images + the templates of group90100
    assert info["annotations"]["box"] == 10013
    assert info["classes"] == {"open": 1942, "short": 1506, "mousebite": 1965, "spur": 1625, "copper": 1474,
                               "pin-hole": 1501}
    # The 74 paired templates of group90100 follow their test image's split (all in test.txt);
    # the orphan template stays unassigned.
    assert info["splits"] == {"train": 1000, "test": 500 + 74, "unassigned": 1}


def test_bsdata(shared_data: Path, tmp_path: Path) -> None:
    info = import_and_info(shared_data, "bsdata", tmp_path, "labelme")
    # SOURCE.md says 207 images, but its own list adds data/BSD/test/01_200905161814_560000_000_crop_2.jpg
    # to the 69 + 138: there are 208 JPEGs on disk, and all are imported.
    assert info["samples"] == 208
    assert info["annotations"]["polygon"] == 157
    assert info["classes"] == {"Pitting": 157}


def test_magnetic_tile(shared_data: Path, tmp_path: Path) -> None:
    info = import_and_info(shared_data, "magnetic-tile", tmp_path, "mask_folder")
    assert info["samples"] == 1344
    folder_counts = {"Blowhole": 115, "Break": 85, "Crack": 57, "Fray": 32, "Free": 952, "Uneven": 103}
    assert info["annotations"]["tag"] == 1344
    tags = {name: n for name, n in info["classes"].items()}
    defect_masks = info["annotations"]["mask"]
    assert defect_masks > 0
    # Each image carries its folder's class as a tag; defect images add a mask of the same class.
    assert sum(tags.values()) == 1344 + defect_masks
    assert set(tags) == set(folder_counts)
    assert info["verdicts"] == {"OK": 952, "NG": 392}
