"""Object groups on whole real datasets (issue 3, acceptance 1), checked against what is known of them.

* bsdata, all 207 images: the type-2 file names give the spot (``01_<time>_<position>_<angle>_crop_<k>``;
  two spots, 69 frames each over three weeks; ``crop_2`` frames until 7 September, then ``crop_1``,
  a wider crop). A group must never mix spots; each spot's frames should form few groups.
* magnetic-tile, all 1,344 images: a tile is photographed under exposures exp1..6, no file says
  which. Every edge is checked independently on the two source files with the benchmark's dense
  overlap test (``_similarity_data.same_surface``: band-pass, phase correlation, NCC >= 0.7 under
  the 8 rotations/flips), and groups larger than 6 are listed (more than one set of exposures).
* deeppcb, boards group00041 (221 crops) and group77000 (107 crops): crops of one board design.
  Every edge is checked with the same dense test: an edge between crops that do not overlap is a
  false merge.

    python benchmarks/bench_similarity_real.py

Writes benchmarks/results/similarity_real.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _similarity_data import same_surface  # noqa: E402

from keepsight.dataset import Dataset  # noqa: E402
from keepsight.ingest.importer import import_path  # noqa: E402
from keepsight.similarity import SimilarityResult, find_similar  # noqa: E402

SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))


def run(files: list[Path], work: Path) -> tuple[SimilarityResult, dict[str, Path], float]:
    src = work / "src"
    src.mkdir(parents=True)
    for f in files:  # a temporary copy (the importer resolves symlinks to outside the folder)
        shutil.copy(f, src / f.name)
    with Dataset.init(work / "ds") as ds:
        import_path(ds, src, format="image_folder")
        t = time.perf_counter()
        result = find_similar(ds, regions=False)
        seconds = time.perf_counter() - t
    return result, {f.name: f for f in files}, seconds


def dense_check(result: SimilarityResult, by_name: dict[str, Path]) -> dict[str, Any]:
    """The independent overlap test (under the 8 rotations/flips) on the source files of every edge."""
    confirmed, refuted, turned = 0, [], Counter()
    for p in result.pairs:
        a, b = by_name[Path(p.path_a).name], by_name[Path(p.path_b).name]
        same, ncc, how = same_surface(cv2.imread(str(a), cv2.IMREAD_GRAYSCALE), cv2.imread(str(b), cv2.IMREAD_GRAYSCALE))
        if same:
            confirmed += 1
            turned[how] += 1
        else:
            refuted.append({"a": a.name, "b": b.name, "best_ncc": round(ncc, 3), "evidence": p.evidence})
    return {
        "edges": len(result.pairs),
        "confirmed_by_dense_check": confirmed,
        "confirmed_after": dict(turned),
        "not_confirmed": len(refuted),
        "not_confirmed_first_20": refuted[:20],
    }


def summary(result: SimilarityResult, images: int, seconds: float) -> dict[str, Any]:
    sizes = Counter(len(g.samples) for g in result.groups)
    return {
        "images": images,
        "groups": len(result.groups),
        "images_in_groups": sum(len(g.samples) for g in result.groups),
        "group_sizes": {str(k): v for k, v in sorted(sizes.items())},
        "seconds_wall": round(seconds, 1),
    }


def bsdata(work: Path) -> dict[str, Any]:
    files = sorted((SHARED / "bsdata" / "data").glob("*.jpg"))
    result, _, seconds = run(files, work)

    def spot(name: str) -> str:
        parts = name.split("_")
        return f"{parts[2]}_{parts[3]}" if parts[0] == "01" else "type 1 (KGT)"

    frames = Counter(spot(f.name) for f in files)
    out: dict[str, Any] = summary(result, len(files), seconds)
    out["groups_mixing_spots"] = sum(
        1 for g in result.groups if len({spot(Path(p).name) for p in g.paths if spot(Path(p).name) != "type 1 (KGT)"}) > 1
    )
    out["spots"] = {}
    for s, count in frames.items():
        if s == "type 1 (KGT)":
            continue
        groups = [g for g in result.groups if any(spot(Path(p).name) == s for p in g.paths)]
        largest = max(groups, key=lambda g: len(g.samples)) if groups else None
        crops = Counter(Path(p).stem.rsplit("_", 1)[1] for p in largest.paths) if largest else Counter()
        out["spots"][s] = {
            "frames": count,
            "groups": len(groups),
            "frames_in_largest_group": len(largest.samples) if largest else 0,
            "largest_group_by_crop": {f"crop_{k}": v for k, v in sorted(crops.items())},
            "frames_alone": count - sum(len(g.samples) for g in groups),
        }
    out["type_1_groups"] = sum(1 for g in result.groups if all(spot(Path(p).name) == "type 1 (KGT)" for p in g.paths))
    return out


def magnetic_tile(work: Path) -> dict[str, Any]:
    files = sorted((SHARED / "magnetic-tile").glob("*/Imgs/*.jpg"))
    result, by_name, seconds = run(files, work)
    out = summary(result, len(files), seconds)
    out["groups_larger_than_6"] = [sorted(Path(p).name for p in g.paths) for g in result.groups if len(g.samples) > 6]
    out["dense_check"] = dense_check(result, by_name)
    return out


def deeppcb(work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for board in ("00041", "77000"):
        files = sorted((SHARED / "deeppcb" / "PCBData" / f"group{board}" / board).glob("*_test.jpg"))
        result, by_name, seconds = run(files, work / board)
        out[f"group{board}"] = {**summary(result, len(files), seconds), "dense_check": dense_check(result, by_name)}
    return out


def main() -> None:
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent")
    cv2.setNumThreads(1)
    report: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        report["bsdata"] = bsdata(Path(tmp) / "bsdata")
        report["deeppcb"] = deeppcb(Path(tmp) / "deeppcb")
        report["magnetic-tile"] = magnetic_tile(Path(tmp) / "magnetic-tile")
    out = REPO / "benchmarks" / "results" / "similarity_real.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
