"""The same-object engine on real captures from ../shared/data (issue 3, acceptance 1).

The whole-dataset counts are in benchmarks/bench_similarity_real.py; these tests pin the
behaviour on subsets small enough for CI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.ingest.importer import import_path
from keepsight.similarity import find_similar

# Three magnetic tiles, each captured at exposures exp1..exp6 (consecutive numbers in the file
# names, checked by eye: same tile outline, same scratches, different brightness).
TILES = [
    [1810, 1836, 1855, 1877, 1903, 1965],
    [2038, 2060, 2074, 2086, 2089, 2121],
    [2610, 2627, 2642, 2657, 2673, 2697],
]
# Six test crops of one DeepPCB board design: different regions, never the same object.
PCB = [f"00041{i:03d}_test.jpg" for i in range(6)]


def test_magnetic_tile_exposures_group_and_pcb_crops_stay_apart(shared_data: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    tile_of = {}
    for t, numbers in enumerate(TILES):
        for n in numbers:
            (found,) = shared_data.glob(f"magnetic-tile/*/Imgs/exp*_num_{n}.jpg")
            shutil.copy(found, src / found.name)
            tile_of[found.name] = t
    for name in PCB:
        shutil.copy(shared_data / "deeppcb" / "PCBData" / "group00041" / "00041" / name, src / name)
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder")
        result = find_similar(ds)
    groups = [sorted(Path(p).name for p in g.paths) for g in result.groups]
    expected = sorted(sorted(n for n, t in tile_of.items() if t == tile) for tile in range(len(TILES)))
    assert sorted(groups) == expected
    assert all(p.reason == "near" for p in result.pairs)


@pytest.mark.slow
def test_bsdata_time_lapse_groups_per_spot_and_spots_stay_apart(shared_data: Path, tmp_path: Path) -> None:
    """Two spots of one ball screw, seen by one camera: the thread lines up between them (rotation 0),
    only the surface differs. Ten frames of each spot over the first days (every 4th crop_2 frame)
    must form one group per spot."""
    src = tmp_path / "src"
    src.mkdir()
    spot_of = {}
    for spot in ("277500", "477500"):
        frames = sorted((shared_data / "bsdata" / "data").glob(f"01_*_{spot}_315_crop_2.jpg"))[:40:4]
        for f in frames:
            shutil.copy(f, src / f.name)
            spot_of[f.name] = spot
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder")
        result = find_similar(ds)
    groups = [{spot_of[Path(p).name] for p in g.paths} for g in result.groups]
    assert all(len(spots) == 1 for spots in groups), "a group mixes the two spots"
    assert sorted(len(g.samples) for g in result.groups) == [10, 10]
