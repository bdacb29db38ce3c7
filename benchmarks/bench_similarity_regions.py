"""find_similar with region matching on whole annotated real datasets: seconds per stage.

Imports deeppcb (its own txt boxes) and neu-det (VOC) with their annotations, describes them, then
runs ``find_similar`` twice: cold (nothing verified yet) and warm (everything cached, what an
incremental audit sees). ``--old-regions N``: also time the region stage as it was before the
region cache (each region searched and verified on its own), on the first N images, for comparison.

    python benchmarks/bench_similarity_regions.py [--datasets deeppcb neu-det] [--work /tmp/ks-regions]

Writes benchmarks/results/similarity_regions.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from keepsight.dataset import Dataset  # noqa: E402
from keepsight.descriptors.describe import describe_dataset  # noqa: E402
from keepsight.ingest.importer import import_path  # noqa: E402
from keepsight.similarity import find_similar  # noqa: E402
from keepsight.similarity.index import similarity_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
FORMATS = {"deeppcb": "deeppcb", "neu-det": "voc"}


def prepared(name: str, work: Path) -> Path:
    """An imported and described copy of the dataset (made once, reused by later runs)."""
    root = work / name
    if not (root / ".done").exists():
        shutil.rmtree(root, ignore_errors=True)
        with Dataset.init(root) as ds:
            import_path(ds, SHARED / name, format=FORMATS[name], skip_bad=True)
            describe_dataset(ds, workers=1)
        (root / ".done").write_text("ok")
    return root


def bench(name: str, work: Path) -> dict[str, Any]:
    root = prepared(name, work)
    shutil.rmtree(similarity_dir(root), ignore_errors=True)  # descriptions stay, the index and caches go
    out: dict[str, Any] = {}
    with Dataset.open(root) as ds:
        n_ann = sum(len(a) for _, a in ds.samples_with_annotations())
        for run in ("cold", "warm"):
            t = time.perf_counter()
            result = find_similar(ds, workers=1)
            out[run] = {
                "seconds_wall": round(time.perf_counter() - t, 2),
                "stages": result.stats["stages"],
                "region_stats": result.stats.get("regions", {}),
                "pairs_by_reason": _count(p.reason for p in result.pairs),
                "groups_with_repeats": sum(1 for g in result.groups if len(g.samples) > 1),
            }
        out["samples"] = result.stats["samples"]
        out["annotations"] = n_ann
    return out


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for x in items:
        counts[x] = counts.get(x, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(FORMATS), choices=sorted(FORMATS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/ks-regions"))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "similarity_regions.json")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    report: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 2)}
    for name in args.datasets:
        report[name] = bench(name, args.work)
        print(name, json.dumps(report[name]), flush=True)
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
