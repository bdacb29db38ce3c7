"""The small PyTorch CNN trainer: it learns, and without torch it says how to get it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from keepsight.curves.runner import compute_curve
from keepsight.errors import DatasetError
from tests.curves import synth


def test_cnn_learns_an_easy_problem(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    src = synth.easy_classes(tmp_path / "src", train=32, test=16)
    with synth.imported(tmp_path, src) as ds:
        ds.config.curve.cnn_epochs, ds.config.curve.cnn_min_steps, ds.config.curve.cnn_side = 4, 25, 32
        result = compute_curve(ds, trainer="cnn", use_groups=False, repeats=1, sizes="8,16,32")
    assert result.trainer == "cnn" and result.points[0]["details"] == {}
    assert result.summary[-1]["test_mean"] >= 0.9
    assert result.summary[-1]["train_mean"] >= 0.9


def test_without_torch_the_cnn_trainer_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    src = synth.easy_classes(tmp_path / "src", train=16, test=8)
    with synth.imported(tmp_path, src) as ds:
        with pytest.raises(DatasetError, match=r"needs PyTorch: pip install .*keepsight\[models\]"):
            compute_curve(ds, trainer="cnn", use_groups=False)
