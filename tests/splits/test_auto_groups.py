"""``--group auto``: the same-object engine's groups, cached per dataset state, kept whole by splits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import keepsight.splits.similar as similar_module
from keepsight.audit.runner import run_audit
from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from keepsight.similarity.api import SimilarityResult
from keepsight.similarity.graph import Group
from keepsight.splits import repair_split, split_dataset
from keepsight.versions import relabel
from tests.similarity import synth
from tests.splits.build import add_records, dataset_with

LEAK_CHECKS = ["split.exact_leak", "split.near_leak", "split.object_leak"]


def test_engine_groups_are_computed_once_per_dataset_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_find_similar(ds: Dataset, **_: object) -> SimilarityResult:
        ids = sorted(s.id for s in ds.samples())
        calls.append(len(ids))
        return SimilarityResult([], [Group("g1", ids[:4], [], {"near": 3})])

    monkeypatch.setattr(similar_module, "find_similar", fake_find_similar)
    records = [{"image": f"i{i}.png", "annotations": [{"kind": "box", "label": "dent", "geometry": [1, 1, 9, 9]}]}
               for i in range(12)]
    with dataset_with(tmp_path, None, records) as ds:
        report = split_dataset(ds, group=["auto"], seed=0)
        assert report.groups == 1 and report.largest_group == 4
        assert len({s.split for s in ds.samples() if s.id in (1, 2, 3, 4)}) == 1
        repair_split(ds)
        split_dataset(ds, group=["auto"], seed=1)
        assert calls == [12]  # unchanged dataset: the stored groups are reused
        book = ds.labelbook()
        book.add("scratch", kind="box")
        ds.set_labelbook(book)
        relabel(ds, "i5.png", to="scratch", from_label="dent", reason="a region changed")
        split_dataset(ds, group=["auto"], seed=1)
        add_records(ds, tmp_path, [{"image": "new.png"}], start=100, name="new")
        split_dataset(ds, group=["auto"], seed=1)
        assert calls == [12, 12, 13]  # a changed annotation, then a new sample: recomputed


def _capture(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A part on the fixture, and a second capture of it (shifted, rotated, relit, re-encoded)."""
    first = synth.scene(seed)
    again = synth.jpeg(synth.relight(synth.rotate(synth.shift(first, 9, -6), 7.0), 1.1, 0.95), 90)
    return first, again


@pytest.mark.slow
def test_auto_split_keeps_recaptures_together_and_repair_fixes_a_shipped_leak(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "train").mkdir(parents=True)
    (src / "test").mkdir()
    for part in range(8):
        first, again = _capture(100 + part)
        cv2.imwrite(str(src / "train" / f"part{part}_a.png"), np.clip(first, 0, 255).astype(np.uint8))
        # The shipped split leaks parts 0-2: their second capture sits in test.
        folder = "test" if part < 3 else "train"
        cv2.imwrite(str(src / folder / f"part{part}_b.png"), np.clip(again, 0, 255).astype(np.uint8))
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder")
        assert {s.split for s in ds.samples()} == {"train", "test"}
        before = run_audit(ds, only=LEAK_CHECKS, save=False)
        assert sum(len(r.findings) for r in before.results) >= 3
        repaired = repair_split(ds, group=["auto"])
        assert repaired.straddling_before == 3 and repaired.straddling_after == 0
        # Each leaking part has one capture on each side: a tie, settled towards the smaller split (test),
        # so the repair does not empty the test set.
        assert sorted((m.path, m.target) for m in repaired.moves) == [(f"train/part{p}_a.png", "test") for p in range(3)]
        assert all(len(r.findings) == 0 for r in run_audit(ds, only=LEAK_CHECKS, save=False).results)
        report = split_dataset(ds, ratios="50/25/25", group=["auto"], seed=3)
        assert report.groups == 8 and report.straddling_after == 0
        by_part: dict[str, set[str]] = {}
        for s in ds.samples():
            by_part.setdefault(Path(s.path).name.split("_")[0], set()).add(s.split)
        assert all(len(v) == 1 for v in by_part.values())
        assert all(len(r.findings) == 0 for r in run_audit(ds, only=LEAK_CHECKS, save=False).results)
