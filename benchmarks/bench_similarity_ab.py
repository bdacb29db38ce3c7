"""Two versions of the same-object pipeline side by side: CPU seconds per 1000 images and the pairs found.

Builds one seed's labelled pair folder (``_similarity_data.py``, as ``bench_similarity.py``),
then runs ``find_similar(workers=1, regions=False)`` on a fresh dataset of it, alternating the
two versions round by round in fresh processes, so both see the same machine load. "after" is
this checkout's ``src``; "before" is another version's ``src`` folder, e.g. from
``git worktree add /tmp/before REV``. Each process loads its imports (and numba's modules, when
the version has compiled kernels) and collects garbage before its clock starts.

    python benchmarks/bench_similarity_ab.py --before-src /tmp/before/src [--seed 1] [--rounds 3]

Writes benchmarks/results/similarity_ab.json (``--out`` to change): per round and version the CPU
seconds per 1000 images and per stage, the median of the rounds, the after/before ratio of the
medians, and whether both versions found the same verified pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))


def worker(folder: Path, work: Path) -> None:
    """One timed run in this process; prints JSON (CPU seconds, stages, verified pairs by file name)."""
    import gc
    import time

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2
    import faiss
    import numpy as np
    import sklearn.decomposition  # noqa: F401  # imported by the pipeline: a per-process constant

    from keepsight.dataset import Dataset
    from keepsight.ingest.importer import import_path
    from keepsight.similarity import find_similar

    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)
    try:
        from keepsight.descriptors.kernels import bit_sums, laplacian_and_noise_sums
        from keepsight.similarity.kernels import two_nearest
    except ImportError:  # a version without compiled kernels
        pass
    else:
        two_nearest(np.zeros((2, 32), np.uint8), np.zeros((2, 32), np.uint8))
        laplacian_and_noise_sums(np.zeros((3, 3), np.uint8))
        bit_sums(np.zeros((2, 32), np.uint8), np.zeros(2, np.int64), 2)
    with Dataset.init(work) as ds:
        import_path(ds, folder, format="image_folder")
        gc.collect()
        start = time.process_time()
        result = find_similar(ds, workers=1, regions=False)
        cpu = time.process_time() - start
    pairs = sorted(sorted((Path(p.path_a).name, Path(p.path_b).name)) for p in result.pairs)
    stages = {k: v["cpu"] for k, v in result.stats.get("stages", {}).items()}
    print(json.dumps({"cpu": cpu, "stages": stages, "pairs": pairs}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-src", type=Path, required=True, help="the other version's src folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-source", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=REPO / "benchmarks" / "work")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "similarity_ab.json")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent")
    if not (args.before_src / "keepsight").is_dir():
        sys.exit(f"{args.before_src} has no keepsight package")
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _similarity_data import build

    versions = {"before": args.before_src.resolve(), "after": (REPO / "src").resolve()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    loads = [round(os.getloadavg()[0], 2)]
    args.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        folder = Path(tmp) / "pairs"
        folder.mkdir()
        images = len(build(SHARED, folder, args.per_source, args.seed).names)
        for r in range(args.rounds):
            for name, src in versions.items():
                env = {**os.environ, "PYTHONPATH": str(src)}
                work = Path(tmp) / f"ds-{name}-{r}"
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", str(folder), str(work)],
                    env=env, capture_output=True, text=True, check=True,
                )
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"round {r + 1} {name}: {runs[name][-1]['cpu'] * 1000 / images:.2f} CPU s / 1000 images", flush=True)
        loads.append(round(os.getloadavg()[0], 2))
    per_1000 = {n: [round(run["cpu"] * 1000 / images, 2) for run in rs] for n, rs in runs.items()}
    medians = {n: statistics.median(v) for n, v in per_1000.items()}
    report = {
        "seed": args.seed,
        "images": images,
        "rounds": args.rounds,
        "before_src": str(versions["before"]),
        "load_average_start_end": loads,
        "cpu_seconds_per_1000_images": per_1000,
        "median": medians,
        "after_over_before": round(medians["after"] / medians["before"], 3),
        "stage_cpu_seconds_median": {
            n: {s: round(statistics.median(run["stages"][s] for run in rs), 3) for s in rs[0]["stages"]}
            for n, rs in runs.items()
        },
        "verified_pairs": {n: len(rs[0]["pairs"]) for n, rs in runs.items()},
        "same_pairs": all(run["pairs"] == runs["before"][0]["pairs"] for rs in runs.values() for run in rs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
