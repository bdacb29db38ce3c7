"""Work resolution and keypoint budget of the same-object engine: recall against CPU time.

Each setting runs ``bench_similarity.py`` on seed 1 (reporting) and seed 0 (tuning), one
process per run, with the describe constants of ``keepsight.descriptors.compute``
(``WORK_SIDE``, ``MAX_KEYPOINTS``, ``ORB_LEVELS``) and the verification's quick-test size
(``VerifyParams.quick_keypoints``) patched in before the benchmark starts; the pixel thresholds
stay in work pixels. The benchmark describes into a fresh temporary dataset, so every run
recomputes its descriptions. The previous defaults run first and last, so that the machine's
drift over the sweep shows.

    python benchmarks/bench_similarity_sweep.py [--per-source 60]

Writes benchmarks/results/similarity_sweep.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Every setting names all four knobs, so the sweep means the same whatever the defaults are.
PREVIOUS: dict[str, Any] = {"work_side": 768, "max_keypoints": 800, "levels": 4, "quick_keypoints": 300}
SETTINGS: list[dict[str, Any]] = [
    PREVIOUS,
    {**PREVIOUS, "work_side": 640},
    {**PREVIOUS, "work_side": 640, "max_keypoints": 600},
    {**PREVIOUS, "work_side": 512, "max_keypoints": 600},
    {**PREVIOUS, "max_keypoints": 600},
    {**PREVIOUS, "max_keypoints": 500},
    # the quick test scaled with the budget (300 of 800 -> 225 of 600, and B's 1.5 times as many)
    {**PREVIOUS, "max_keypoints": 600, "quick_keypoints": 225},
    {**PREVIOUS, "work_side": 640, "max_keypoints": 600, "quick_keypoints": 225},
    {**PREVIOUS, "max_keypoints": 500, "quick_keypoints": 188},
    PREVIOUS,
]
SEEDS = (1, 0)


def run_patched(setting: dict[str, Any], seed: int, per_source: int, out: Path) -> None:
    """Patch the describe constants and the verification defaults, then run the benchmark (in this process)."""
    import keepsight.descriptors.compute as compute
    import keepsight.similarity.api as api

    compute.WORK_SIDE = setting["work_side"]
    compute.MAX_KEYPOINTS = setting["max_keypoints"]
    compute.ORB_LEVELS = setting["levels"]
    compute.describe_bytes.__kwdefaults__.update(work_side=compute.WORK_SIDE, max_keypoints=compute.MAX_KEYPOINTS)
    compute.local_features.__defaults__ = (compute.MAX_KEYPOINTS,)
    params = dataclasses.replace(api.DEFAULT_PARAMS, quick_keypoints=setting["quick_keypoints"])
    api.DEFAULT_PARAMS = params
    api.find_similar.__kwdefaults__["params"] = params
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_similarity

    bench_similarity.DEFAULT_PARAMS = params  # reported in the results as the parameters used
    sys.argv = ["bench_similarity.py", "--seed", str(seed), "--per-source", str(per_source), "--out", str(out)]
    with contextlib.redirect_stdout(sys.stderr):
        bench_similarity.main()


def summary(report: dict[str, Any]) -> dict[str, Any]:
    ks = report["keepsight"]
    n = report["images"]
    return {
        "edges_precision": ks["edges"]["precision"],
        "edges_recall": ks["edges"]["recall"],
        "groups_precision": ks["groups"]["precision"],
        "groups_recall": ks["groups"]["recall"],
        "missed_positive_edges": ks["misses"]["missed_positives"],
        "groups_recall_by_dataset": {name: d["recall"] for name, d in ks["groups"]["by_dataset"].items()},
        "cpu_seconds_per_1000_images": ks["cpu_seconds_per_1000_images"],
        "stage_cpu_ms_per_image": {
            stage: round(clock["cpu"] * 1000 / n, 2) for stage, clock in ks["stats"]["stages"].items()
        },
        "candidates": ks["stats"]["candidates"],
        "load_average_before_after": report["load_average_before_after"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-source", type=int, default=60)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "similarity_sweep.json")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a setting as JSON: run it in this process
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_patched(json.loads(args.one), args.seed, args.per_source, args.out)
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for position, setting in enumerate(SETTINGS):
            for seed in SEEDS:
                out = Path(tmp) / f"{position}_{seed}.json"
                command = [sys.executable, __file__, "--one", json.dumps(setting), "--seed", str(seed),
                           "--per-source", str(args.per_source), "--out", str(out)]
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                run = {"setting": setting, "seed": seed, **summary(json.loads(out.read_text()))}
                print(json.dumps(run), flush=True)
                runs.append(run)
    result = {
        "method": (
            "bench_similarity.py (find_similar(k=16, workers=1, regions=False), one core) per setting and seed, "
            "one process each, in this order in one session; work_side / max_keypoints / levels patched into "
            "keepsight.descriptors.compute, quick_keypoints into the default VerifyParams (pixel thresholds "
            "stay in work pixels)"
        ),
        "per_source": args.per_source,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
