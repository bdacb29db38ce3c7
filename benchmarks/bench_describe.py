"""Describe throughput against plain decoding of the same files, side by side in one run.

For each real dataset in ../shared/data, ``--per-source`` files are read into memory once; then,
alternating in ``--rounds`` rounds so both see the same machine load:

* plain decode: ``cv2.imdecode(..., IMREAD_UNCHANGED)``, full resolution, what any consumer does,
* reduced decode: the describe stage's own decode (JPEG DCT scaling towards 768 px), for reference,
* describe: ``describe_bytes``, everything the stage computes and stores per image (reduced
  decode, statistics, hashes, 800 ORB keypoints, thumbnail), without the file write.

The ratio is describe throughput / plain-decode throughput (= decode time / describe time);
the target of issue 3 is >= 0.5. One core; CPU seconds (process time) and wall seconds.

    python benchmarks/bench_describe.py [--per-source 100] [--rounds 3]

Writes benchmarks/results/similarity_describe.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _similarity_data import SOURCES  # noqa: E402

from keepsight.descriptors.compute import WORK_SIDE, decode_reduced, describe_bytes  # noqa: E402

SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
LARGE = 1_000_000  # pixels: the bsdata frames this large are reported on their own too


def clock(fn: Callable[[bytes], object], items: list[bytes]) -> tuple[float, float]:
    """(CPU, wall) milliseconds per item."""
    wall, cpu = time.perf_counter(), time.process_time()
    for data in items:
        fn(data)
    n = len(items)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


def plain_decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-source", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "similarity_describe.json")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent")
    cv2.setNumThreads(1)
    rng = random.Random(args.seed)
    sets: dict[str, list[bytes]] = {}
    pixels: dict[str, float] = {}
    for name, pattern in SOURCES.items():
        files = rng.sample(sorted(SHARED.glob(pattern)), min(args.per_source, len(sorted(SHARED.glob(pattern)))))
        sets[name] = [f.read_bytes() for f in files]
        shapes = [plain_decode(d).shape[:2] for d in sets[name]]
        pixels[name] = statistics.mean(h * w for h, w in shapes)
        large = [d for d, (h, w) in zip(sets[name], shapes, strict=True) if h * w >= LARGE]
        if large:
            sets[f"{name} (frames >= 1 MP)"] = large
            pixels[f"{name} (frames >= 1 MP)"] = statistics.mean(h * w for h, w in shapes if h * w >= LARGE)
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {n: {"plain": [], "reduced": [], "describe": []} for n in sets}
    describe_bytes("x", next(iter(sets.values()))[0])  # numba's first call loads its modules: once per process
    for _ in range(args.rounds):
        for name, items in sets.items():
            runs[name]["plain"].append(clock(plain_decode, items))
            runs[name]["reduced"].append(clock(decode_reduced, items))
            runs[name]["describe"].append(clock(lambda d: describe_bytes("x", d), items))
    report: dict[str, object] = {
        "per_source": args.per_source,
        "rounds": args.rounds,
        "work_side": WORK_SIDE,
        "cores": 1,
        "load_average": round(os.getloadavg()[0], 2),
        "datasets": {},
    }
    for name, r in runs.items():
        med = {kind: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for kind, v in r.items()}
        report["datasets"][name] = {  # type: ignore[index]
            "images": len(sets[name]),
            "mean_megapixels": round(pixels[name] / 1e6, 3),
            "plain_decode_ms": {"cpu": round(med["plain"][0], 2), "wall": round(med["plain"][1], 2)},
            "reduced_decode_ms": {"cpu": round(med["reduced"][0], 2), "wall": round(med["reduced"][1], 2)},
            "describe_ms": {"cpu": round(med["describe"][0], 2), "wall": round(med["describe"][1], 2)},
            "describe_to_decode_throughput": round(med["plain"][0] / med["describe"][0], 3),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
