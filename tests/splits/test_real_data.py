"""Splits of the real datasets in ../shared/data keep their object groups together, and the leaks of
the splits their authors shipped (DeepPCB's trainval/test lists, BSData's train_test_split) are repaired.

The same-object engine dominates the cost (it describes and verifies every image and annotated
region), so magnetic-tile and DeepPCB are tested on real subsets copied to a temp folder (three
defect classes plus three tiles of six exposures; two DeepPCB boards with their lines of the
shipped lists); BSData is tested whole. ``benchmarks/bench_split.py`` runs all three datasets whole
(numbers in docs/splits.md).
"""

from __future__ import annotations

import re
import shutil
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
PCB_BOARDS = ("group50600", "group12000")  # 93 test images; the shipped lists leak in group50600
SPOT = re.compile(r"_(\d+_\d+)_crop")  # BSData's time-lapse spot: <position>_<angle>


def leak_findings(ds: Dataset) -> dict[str, int]:
    """The audit's split.* leak checks, on the engine's pairs and groups the split computed.

    Moving samples between splits does not change what looks alike, so the audit reuses the
    engine's stored result instead of searching and verifying every image again.
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
    source = shared_data / "magnetic-tile"
    subset = tmp_path / "mt"
    for folder in ("MT_Crack", "MT_Fray", "MT_Break"):
        shutil.copytree(source / folder / "Imgs", subset / folder / "Imgs")
    for n in (n for tile in TILES for n in tile):
        (found,) = source.glob(f"*/Imgs/exp*_num_{n}.jpg")
        target = subset / found.parent.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(found, target)
        shutil.copy(found.with_suffix(".png"), target)  # its mask
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, subset, format="mask_folder")
        report = split_dataset(ds, ratios="70/15/15", group=["auto"], seed=0)
        assert report.straddling_after == 0 and report.groups >= 3
        assert report.ratios_target is not None
        assert all(abs(report.ratios_achieved[s] - t) < 0.05 for s, t in report.ratios_target.items())
        for label in ("Crack", "Fray", "Break"):  # every defect class in every split (Free is just the 3 tiles)
            assert set(report.per_class[label]) == set(SPLIT_NAMES), report.per_class
        assert assert_groups_whole(ds) == report.groups
        by_name = {Path(s.path).name: s.split for s in ds.samples()}
        for tile in TILES:
            assert len({split for name, split in by_name.items()
                        if any(name.endswith(f"_num_{n}.jpg") for n in tile)}) == 1
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)


def _deeppcb_subset(source: Path, target: Path) -> None:
    """Some boards (images and box files) and the lines of the shipped lists that name them."""
    for board in PCB_BOARDS:
        shutil.copytree(source / board, target / board)
    for listing in ("trainval.txt", "test.txt"):
        lines = (source / listing).read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.split("/", 1)[0] in PCB_BOARDS]
        (target / listing).write_text("\n".join(kept) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_deeppcb_shipped_split_repaired_then_resplit_without_leaks(shared_data: Path, tmp_path: Path) -> None:
    _deeppcb_subset(shared_data / "deeppcb" / "PCBData", tmp_path / "pcb")
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, tmp_path / "pcb", format="deeppcb")
        shipped = {s.path: s.split for s in ds.samples()}
        assert set(shipped.values()) == {"train", "test"}  # the authors' trainval/test lists, read by the importer
        planned = repair_split(ds, group=["auto"], dry_run=True)
        before = leak_findings(ds)
        assert planned.straddling_before > 0 and before["split.near_leak"] > 0  # the shipped split leaks
        repaired = repair_split(ds, group=["auto"])
        assert repaired.moves == planned.moves and repaired.straddling_after == 0
        assert all(shipped[m.path] == m.source for m in repaired.moves)
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
        report = split_dataset(ds, ratios="70/15/15", group=["auto"], seed=0)
        assert report.straddling_after == 0 and set(report.counts) <= set(SPLIT_NAMES)
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
        assert repaired.straddling_before > 0 and repaired.straddling_after == 0
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
        # A time-lapse spot (same position and angle, photographed for weeks) is one object.
        report = split_dataset(ds, ratios="70/15/15", group=["auto", f"path:{SPOT.pattern}"], seed=0)
        assert report.straddling_after == 0
        spots: dict[str, set[str]] = {}
        for s in ds.samples():
            found = SPOT.search(s.path)
            if found:
                spots.setdefault(found.group(1), set()).add(s.split)
        assert len(spots) >= 3 and all(len(v) == 1 for v in spots.values())
        assert_groups_whole(ds)
        assert leak_findings(ds) == dict.fromkeys(LEAK_CHECKS, 0)
