"""image.quality and image.outlier, on the describe stage's statistics and thumbnails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.dataset import Dataset
from tests.audit.build import dataset_from, run_check, textured
from tests.similarity import synth

N = 24


def _normal(n: int = N) -> list[dict[str, object]]:
    return [{"image": f"ok/{i:02d}.png", "seed": i} for i in range(n)]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    with dataset_from(tmp_path_factory.mktemp("plain"), _normal(30)) as ds:
        yield ds


def test_bad_images_are_found_with_their_problem(tmp_path: Path) -> None:
    base = textured(100).astype(np.float32)
    planted = [
        {"image": "bad/blurred.png", "pixels": cv2.GaussianBlur(textured(101), (0, 0), 3)},
        {"image": "bad/dark.png", "pixels": (base * 0.12).astype(np.uint8)},
        {"image": "bad/bright.png", "pixels": (232 + base * 0.08).astype(np.uint8)},
        {"image": "bad/blank.png", "pixels": np.full((96, 128), 128, np.uint8)},
        {"image": "odd/bigger.png", "pixels": textured(102, (120, 160))},
        {"image": "odd/colour.png", "pixels": cv2.cvtColor(textured(103), cv2.COLOR_GRAY2BGR)},
    ]
    with dataset_from(tmp_path, _normal() + planted) as ds:
        result = run_check(ds, "image.quality")
    found = {f.paths[0]: f for f in result.findings}
    assert set(found) == {r["image"] for r in planted}
    problems = {path: set(f.evidence["problems"]) for path, f in found.items()}
    assert "blur" in problems["bad/blurred.png"] and not found["bad/blurred.png"].evidence["problems"]["blur"][
        "past_floor"]  # found relative to the dataset, not by the absolute floor
    assert "dark" in problems["bad/dark.png"] and "bright" in problems["bad/bright.png"]
    assert "low_information" in problems["bad/blank.png"]
    assert problems["odd/bigger.png"] == {"size"} and problems["odd/colour.png"] == {"mode"}
    assert found["odd/bigger.png"].severity == "info" and found["bad/dark.png"].severity == "warning"


def test_a_consistent_dataset_has_no_quality_problem(plain: Dataset) -> None:
    assert run_check(plain, "image.quality").findings == []


def test_images_of_another_scene_are_outliers(tmp_path: Path) -> None:
    part = cv2.resize(synth.scene(3), (128, 96), interpolation=cv2.INTER_AREA)  # a part on a fixture
    stripes = np.tile(np.where(np.arange(128) // 8 % 2 == 0, 40, 210).astype(np.uint8), (96, 1))
    planted = [{"image": "stray/part.png", "pixels": part}, {"image": "stray/stripes.png", "pixels": stripes}]
    with dataset_from(tmp_path, _normal(30) + planted) as ds:
        result = run_check(ds, "image.outlier")
    assert sorted(f.paths[0] for f in result.findings) == ["stray/part.png", "stray/stripes.png"]
    finding = result.findings[0]
    assert finding.score >= 4.0 and len(finding.evidence["nearest"]) == 5 and finding.evidence["unusual_in"]


def test_a_consistent_dataset_has_no_outlier(plain: Dataset) -> None:
    result = run_check(plain, "image.outlier")
    assert result.status == "ok" and result.findings == []


def test_too_few_images_to_judge_outliers(tmp_path: Path) -> None:
    with dataset_from(tmp_path, _normal(5)) as ds:
        assert run_check(ds, "image.outlier").status == "skipped"
