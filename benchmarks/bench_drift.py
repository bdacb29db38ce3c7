"""Drift benchmark: production streams generated from real images (../shared/data), see tests/drift/streams.py.

The reference is BSData's type-2 time-lapse (a fixed camera over a ball screw drive, three
weeks, two spots), every other frame in time order. Streams draw the held-out frames:

* drift stream: stable 60, darkening (gain 0.6) 50, stable 30, camera shift and rotation
  (+24 px x, -6 px y, -1.5 degrees) 50, stable 30, blur (sigma 2.5 px) 50, stable 30, then a new part type
  (magnetic-tile, another dataset) 50; plus a variant whose new part is BSData's other drive type (harder);
* control stream: 300 held-out frames, nothing changed;
* the same on magnetic-tile's defect-free tiles (ROI crops of varied sizes, no fixed scene, so no camera
  change): stable 60, darkening 50, stable 30, blur 50, stable 30, new part type (NEU-DET steel) 50; control 300.

Every stream runs through ``Monitor`` with the default config (windows of 30 images every 10).
Per change: whether it was detected with the right primary explanation, after how many
changed images, and the message; per stream: false alarms (drifted windows holding no
changed image). Timing (reference build, seconds per observed image) is measured in the same run.

    python benchmarks/bench_drift.py [--seeds 3] [--out benchmarks/results/drift.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from tests.drift import streams  # noqa: E402

from keepsight import Dataset, import_path  # noqa: E402
from keepsight.drift.monitor import Monitor  # noqa: E402
from keepsight.drift.reference import build_reference  # noqa: E402

SCENARIOS = {
    "bsdata": {
        "drift": streams.DRIFT_PHASES,
        "drift (new part: BSData type 1)": streams.DRIFT_PHASES[:-1] + [streams.Phase(streams.NEW_PART_SAME_DOMAIN, 50)],
        "control": streams.CONTROL_PHASES,
    },
    "magnetic-tile": {  # ROI crops of varied size: no fixed scene, so no camera change to find
        "drift": streams.TILE_PHASES,
        "control": streams.CONTROL_PHASES,
    },
}


def margins(windows: list[dict[str, Any]]) -> dict[str, float]:
    """How close the quietest stream came to each decision: the smallest p-values and largest effects."""
    out: dict[str, float] = {}
    for w in windows:
        for t in w["tests"]:
            key = f"{t['family']}.{t['feature']}.{t['test']}"
            out[f"min_p {key}"] = min(out.get(f"min_p {key}", 1.0), t["p_value"])
            if t["test"] in ("exceedance", "share", "psi", "mmd"):
                out[f"max_effect {key}"] = max(out.get(f"max_effect {key}", 0.0), t["effect"])
    return {k: round(v, 6) for k, v in sorted(out.items())}


def compare_embeddings() -> dict[str, dict[str, float]]:
    """Share of images called novel (beyond training's own 99th-percentile nearest-neighbour distance) by the
    appearance embedding drift uses, and by the ORB-VLAD global descriptor of the similarity stage (codebook
    learned on the same training images): held-out frames of the scene should be 0, other parts 1."""
    import cv2
    import numpy as np

    from keepsight.descriptors import vlad
    from keepsight.descriptors.compute import describe_bytes
    from keepsight.drift.features import image_features
    from keepsight.drift.reference import nearest

    train, held = streams.bsdata_split(SHARED)
    sets = {"training": [streams.encode(streams.view(cv2.imread(str(p)))) for p in train],
            "held-out frames": [streams.encode(streams.view(cv2.imread(str(p)))) for p in held],
            "magnetic-tile": [streams.encode(f) for f in streams.new_parts(SHARED, "magnetic-tile")[:60]],
            "BSData type 1": [streams.encode(f) for f in streams.new_parts(SHARED, "bsdata-type1")[:60]]}
    codebook = vlad.train_codebook([describe_bytes("x", b).descriptors for b in sets["training"]])
    embedders = {
        "appearance (drift)": lambda bs: np.stack([image_features(b).embedding for b in bs]),
        "ORB-VLAD": lambda bs: np.stack([vlad.encode(describe_bytes("x", b).descriptors, codebook) for b in bs]),
    }
    out: dict[str, dict[str, float]] = {}
    for name, embed in embedders.items():
        ref = embed(sets["training"])
        loo, _ = nearest(ref, ref, exclude_self=True)
        threshold = float(np.quantile(loo, 0.99))
        out[name] = {k: round(float(np.mean(nearest(embed(v), ref)[0] > threshold)), 3)
                     for k, v in sets.items() if k != "training"}
    return out


def run_stream(ds: Dataset, phases: list[streams.Phase], seed: int, source: str) -> dict[str, Any]:
    stream = streams.build_stream(SHARED, phases, seed=seed, source=source)
    encoded = [streams.encode(frame) for frame in stream.frames]
    monitor = Monitor(ds, source=f"bench seed {seed}")
    start = time.perf_counter()
    for k, data in enumerate(encoded):
        monitor.observe(data, name=f"frame{k:04d}.jpg")
    session = monitor.finish()
    seconds = time.perf_counter() - start
    windows = [w.as_dict(observations=False) for w in session.windows]
    return {"seed": seed, "images": len(encoded), "seconds_per_image": round(seconds / len(encoded), 4),
            "alarms": [{"category": a.category, "message": a.message, "first_image": a.first_image,
                        "last_image": a.last_image} for a in session.alarms],
            **streams.score(windows, stream), "margins": margins(windows) if not any(c.expected for c, _, _ in
                                                                                    stream.phases) else {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "drift.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    results: dict[str, list[dict[str, Any]]] = {}
    references: dict[str, dict[str, Any]] = {}
    try:
        for source, variants in SCENARIOS.items():
            folder = streams.write_training_folder(SHARED, work / source / "train", source=source)
            ds = Dataset.init(work / source / "ds")
            import_path(ds, folder, format="image_folder", split="train")
            start = time.perf_counter()
            profile = build_reference(ds, workers=1)
            references[source] = {"images": len(profile.digests), "seconds": round(time.perf_counter() - start, 1),
                                  "scene": profile.summary()["scene"]}
            for name, phases in variants.items():
                key = f"{source}: {name}"
                results[key] = []
                for seed in range(args.seeds):
                    row = run_stream(ds, phases, seed, source)
                    results[key].append(row)
                    print(f"{key} seed {seed}: " + "; ".join(
                        f"{c['change']}: {'delay ' + str(c['delay_images']) if c['detected'] else 'MISSED'}"
                        for c in row["changes"]) + f"; false alarm windows {row['false_alarm_windows']}", flush=True)
            ds.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    embeddings = compare_embeddings()
    print("novel share by embedding:", embeddings, flush=True)
    summary: dict[str, Any] = {}
    for name, rows in results.items():
        per_change: dict[str, dict[str, Any]] = {}
        for row in rows:
            for c in row["changes"]:
                s = per_change.setdefault(c["change"], {"expected": c["expected"], "detected": 0, "runs": 0,
                                                        "delays": [], "windows_inside": 0, "windows_inside_right": 0,
                                                        "other_categories": set()})
                s["runs"] += 1
                s["detected"] += c["detected"]
                if c["detected"]:
                    s["delays"].append(c["delay_images"])
                s["windows_inside"] += c["windows_inside"]
                s["windows_inside_right"] += c["windows_inside_right"]
                s["other_categories"] |= set(c["other_categories"])
        for s in per_change.values():
            s["max_delay_images"] = max(s["delays"]) if s["delays"] else None
            s["other_categories"] = sorted(s["other_categories"])
        summary[name] = {"changes": per_change,
                         "false_alarm_windows": sum(r["false_alarm_windows"] for r in rows),
                         "clean_windows": sum(r["clean_windows"] for r in rows),
                         "alarms": sum(len(r["alarms"]) for r in rows),
                         "seconds_per_image_median": sorted(r["seconds_per_image"] for r in rows)[len(rows) // 2]}
    body = {
        "benchmark": "drift",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
        "references": references,
        "config": "defaults (drift.window size 30, step 10, min_images 15; alpha 0.001)",
        "summary": summary,
        "embedding_comparison": embeddings,
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(body, indent=1, default=str) + "\n")
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
