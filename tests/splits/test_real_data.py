"""Splits of the real datasets in ../shared/data keep their object groups together, and the leaks of
the splits their authors shipped (DeepPCB's trainval/test lists, BSData's train_test_split) are repaired."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight.audit.runner import build_checks, run_checks
from keepsight.checks.context import AuditContext
from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from keepsight.similarity import SimilarityResult, load_groups
from keepsight.splits import apply_split_file, repair_split, split_dataset
from keepsight.splits.assign import SPLIT_NAMES

LEAK_CHECKS = ["split.exact_leak", "split.near_leak", "split.object_leak"]
# Three magnetic tiles, each captured at six exposures (tests/similarity/test_real_data.py).
TILES = [[1810, 1836, 1855, 1877, 1903, 1965], [2038, 2060, 2074, 2086, 2089, 2121],
         [2610, 2627, 2642, 2657, 2673, 2697]]


def leak_findings(ds: Dataset) -> dict[str, int]:
    """The audit's split.* leak checks, on the engine's pairs and groups the split computed.

    Moving samples between splits does not change what looks alike, so the audit reuses the
    engine's stored result instead of searching and verifying thousands of images again.
    """
    stored = load_groups(ds.root)
    assert stored is not None
    ctx = AuditContext(ds)
    ctx.similarity = SimilarityResult(*stored)
    results = run_checks(ctx, build_checks(ds.config.audit, only=LEAK_CHECKS))
    assert all(r.status == "ok" for r in results), [r.reason for r in results]
    return {r.check: len(r.findings) for r in results}


def assert_groups_whole(ds: Dataset) -> int:
    """Every object group of the same-object engine sits in one split; returns how many groups there are."""
    splits = {s.id: s.split for s in ds.samples()}
    stored = load_groups(ds.root)
    assert stored is not None
    _, groups = stored
    for group in groups:
        assert len({splits[i] for i in group.samples if i in splits}) == 1, group.paths
    return len(groups)


@pytest.mark.slow
def test_magnetic_tile_split_keeps_exposures_of_a_tile_together(shared_data: Path, tmp_path: Path) -> None:
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, shared_data / "magnetic-tile", format="mask_folder")
        report = split_dataset(ds, ratios="70/15/15", group=["auto"], seed=0)
        assert report.straddling_after == 0 and report.groups > 0
        assert all(abs(report.ratios_achieved[s] - t) < 0.02 for s, t in report.ratios_target.items())  # type: ignore[union-attr]
        assert assert_groups_whole(ds) == report.groups
        by_name = {Path(s.path).name: s.split for s in ds.samples()}
        for tile in TILES:
            assert len({split for name, split in by_name.items()
                        if any(name.endswith(f"_num_{n}.jpg") for n in tile)}) == 1
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)


@pytest.mark.slow
def test_deeppcb_shipped_split_repaired_then_resplit_without_leaks(shared_data: Path, tmp_path: Path) -> None:
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, shared_data / "deeppcb" / "PCBData", format="deeppcb")
        shipped = {s.path: s.split for s in ds.samples()}
        assert {"train", "test"} <= set(shipped.values())
        planned = repair_split(ds, group=["auto"], dry_run=True)
        before = leak_findings(ds)
        assert planned.straddling_before > 0 and sum(before.values()) > 0  # the shipped split leaks
        repaired = repair_split(ds, group=["auto"])
        assert repaired.moves == planned.moves
        assert repaired.straddling_after == 0
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
        report = split_dataset(ds, ratios="70/15/15", group=["auto"], seed=0)
        assert report.straddling_after == 0 and set(report.counts) <= {*SPLIT_NAMES}
        assert_groups_whole(ds)
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)


@pytest.mark.slow
def test_bsdata_shipped_split_from_image_data_json(shared_data: Path, tmp_path: Path) -> None:
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, shared_data / "bsdata", format="labelme", skip_bad=True)
        applied = apply_split_file(ds, str(shared_data / "bsdata" / "image_data.json"))
        # The annotated images carry a split in the authors' file (72 train, 27 test with data/BSD/test/'s image);
        # the other 896 entries name files left out of the shared copy.
        assert applied.counts == {"train": 72, "test": 27, "unassigned": 109}
        assert applied.details["unmatched"] == 896
        repaired = repair_split(ds, group=["auto"])
        assert repaired.straddling_after == 0
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
        # A time-lapse spot (same position and angle, photographed for weeks) is one object.
        report = split_dataset(ds, ratios="70/15/15", group=["auto", r"path:_(\d+_\d+)_crop"], seed=0)
        assert report.straddling_after == 0
        spots: dict[str, set[str]] = {}
        for s in ds.samples():
            if "_crop" in s.path:
                spots.setdefault(s.path.split("_")[2] + "_" + s.path.split("_")[3], set()).add(s.split)
        assert spots and all(len(v) == 1 for v in spots.values())
        assert_groups_whole(ds)
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
