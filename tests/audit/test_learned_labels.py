"""labels.suspect_class and labels.class_modes on generated regions: planted problems found, clean data silent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from keepsight.audit.config import AuditConfig
from keepsight.audit.runner import run_audit
from keepsight.checks.base import CheckResult
from keepsight.checks.context import AuditContext
from keepsight.checks.labels.suspect_class import out_of_fold_probabilities
from keepsight.checks.region_features import BLOCKS, region_features
from keepsight.dataset import Dataset
from tests.audit.build import dataset_from

Drawer = Callable[[np.ndarray, np.random.Generator], list[int]]


def _background(rng: np.random.Generator, h: int = 128, w: int = 160) -> np.ndarray:
    base = cv2.GaussianBlur(rng.normal(128, 40, (h, w)).astype(np.float32), (0, 0), 6)
    return np.clip(base + rng.normal(0, 6, (h, w)), 0, 255).astype(np.uint8)


def pit(img: np.ndarray, rng: np.random.Generator) -> list[int]:
    """A dark disc of radius 6-9 (natural variation in size and darkness)."""
    h, w = img.shape
    r = int(rng.integers(6, 10))
    cx, cy = int(rng.integers(20, w - 20)), int(rng.integers(20, h - 20))
    cv2.circle(img, (cx, cy), r, int(rng.integers(20, 50)), -1)
    return [cx - r - 2, cy - r - 2, cx + r + 2, cy + r + 2]


def scratch(img: np.ndarray, rng: np.random.Generator) -> list[int]:
    """A bright 2-pixel line of length 24-40 at any angle."""
    h, w = img.shape
    length, angle = int(rng.integers(24, 40)), float(rng.uniform(0, np.pi))
    cx, cy = int(rng.integers(25, w - 25)), int(rng.integers(25, h - 25))
    dx, dy = length / 2 * np.cos(angle), length / 2 * np.sin(angle)
    p1, p2 = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
    cv2.line(img, p1, p2, int(rng.integers(215, 250)), 2)
    return [min(p1[0], p2[0]) - 3, min(p1[1], p2[1]) - 3, max(p1[0], p2[0]) + 3, max(p1[1], p2[1]) + 3]


def _records(plan: list[tuple[str, Drawer]], seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i, (label, draw) in enumerate(plan):
        img = _background(rng)
        box = draw(img, rng)
        out.append({"image": f"{i:03d}.png", "split": "train", "pixels": img,
                    "annotations": [{"kind": "box", "label": label, "geometry": box}]})
    return out


def _pits_and_scratches(n: int, mislabel: int | None = None) -> list[tuple[str, Drawer]]:
    plan: list[tuple[str, Drawer]] = []
    for i in range(2 * n):
        label, draw = ("pit", pit) if i % 2 == 0 else ("scratch", scratch)
        plan.append(("scratch" if i == mislabel else label, draw))
    return plan


def _audit(ds: Dataset, check: str, **params: Any) -> CheckResult:
    config = AuditConfig(checks={check: params} if params else {})
    [result] = run_audit(ds, only=[check], config=config, save=False, workers=1).results
    return result


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    with dataset_from(tmp_path_factory.mktemp("clean"), _records(_pits_and_scratches(30), seed=1)) as ds:
        yield ds


def test_suspect_class_names_the_planted_mislabel(tmp_path: Path) -> None:
    # record 4 is a pit labelled "scratch" (folds by image here; grouping is tested below)
    with dataset_from(tmp_path, _records(_pits_and_scratches(30, mislabel=4), seed=2)) as ds:
        result = _audit(ds, "labels.suspect_class", group_folds=False)
    assert result.status == "ok", result.reason
    assert [f.paths for f in result.findings] == [["004.png"]]
    [finding] = result.findings
    assert finding.label == "scratch" and finding.evidence["suggested"] == "pit"
    assert finding.evidence["quality"] < 0.5 and finding.evidence["box"]
    assert result.summary["balanced_accuracy"] > 0.9


def test_grouped_folds_keep_copies_of_a_mislabel_from_vouching_for_each_other() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (40, 3))])
    labels = np.repeat([0, 1], 40)
    x[:5] = x[45]  # five copies of one class-1 region (one object captured five times) labelled 0
    alone = np.arange(80)  # every region its own group: the copies train on each other
    together = alone.copy()
    together[:5] = 100  # the same-object engine puts the copies in one group
    by_image = out_of_fold_probabilities(x, labels, alone)[:5, 0]
    by_object = out_of_fold_probabilities(x, labels, together)[:5, 0]
    assert np.all(by_object < 0.2) and by_object.mean() < by_image.mean()


def test_suspect_class_silent_on_clean_labels(clean: Dataset) -> None:
    result = _audit(clean, "labels.suspect_class", group_folds=False)
    assert result.status == "ok" and result.findings == []


def test_suspect_class_skips_one_class_and_inseparable_classes(tmp_path: Path, clean: Dataset) -> None:
    one = _audit(clean, "labels.suspect_class", group_folds=False, min_per_class=31)
    assert one.status == "skipped" and "at least 2 classes" in (one.reason or "")
    # the same kind of region under two names at random: appearance cannot tell them apart
    rng = np.random.default_rng(3)
    plan: list[tuple[str, Drawer]] = [(str(rng.choice(["a", "b"])), pit) for _ in range(60)]
    with dataset_from(tmp_path, _records(plan, seed=4)) as ds:
        result = _audit(ds, "labels.suspect_class", group_folds=False)
    assert result.status == "skipped" and "does not separate" in (result.reason or "")


def test_class_modes_finds_two_kinds_under_one_name(tmp_path: Path) -> None:
    plan: list[tuple[str, Drawer]] = [("damage", pit if i % 2 == 0 else scratch) for i in range(50)]
    with dataset_from(tmp_path, _records(plan, seed=5)) as ds:
        result = _audit(ds, "labels.class_modes")
    [finding] = result.findings
    assert finding.label == "damage" and finding.check == "labels.class_modes"
    sizes = sorted(c["size"] for c in finding.evidence["clusters"])
    assert sizes == [25, 25]
    # each cluster is one kind: its example regions are all pits (even records) or all scratches
    for cluster in finding.evidence["clusters"]:
        kinds = {int(Path(e["path"]).stem) % 2 for e in cluster["examples"]}
        assert len(kinds) == 1


def test_class_modes_silent_on_natural_variation(clean: Dataset) -> None:
    result = _audit(clean, "labels.class_modes")
    assert result.status == "ok" and result.findings == []
    assert result.summary["classes_examined"] == 2


def test_region_features_fall_back_to_decoding_sparse_regions(clean: Dataset) -> None:
    ctx = AuditContext(clean, workers=1)
    stored = region_features(ctx, min_keypoints=1)
    decoded = region_features(ctx, min_keypoints=10_000)  # no region has that many: every one is decoded
    assert decoded.stats["decoded"] == decoded.stats["regions"] == 60 == stored.stats["regions"]
    assert stored.stats["decoded"] < 60 and set(stored.source) <= {"stored", "decoded"}
    assert stored.features.shape == decoded.features.shape and list(stored.columns) == list(BLOCKS)
    words = decoded.select("words")
    assert np.all(np.isfinite(decoded.features)) and np.allclose((words**2).sum(axis=1), 1.0)


def test_region_features_decode_each_image_once_per_audit(clean: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """suspect_class and class_modes both ask for region features: the second ask decodes and loads nothing."""
    ctx = AuditContext(clean, workers=1)
    decoded: list[int] = []
    loaded: list[str] = []
    image, description = ctx.image, ctx.description
    monkeypatch.setattr(ctx, "image", lambda sample, **kw: decoded.append(sample.id) or image(sample, **kw))
    monkeypatch.setattr(ctx, "description", lambda digest: loaded.append(digest) or description(digest))
    first = region_features(ctx, min_keypoints=10_000)
    assert sorted(decoded) == sorted({r.sample.id for r in first.regions}) and len(loaded) == len(set(loaded)) == 60
    decoded.clear()
    loaded.clear()
    again = region_features(ctx, min_keypoints=10_000)
    assert decoded == [] and loaded == []
    assert np.array_equal(first.features, again.features)
