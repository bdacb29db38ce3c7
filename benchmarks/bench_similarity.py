"""Same-object benchmark: labelled pairs generated from the real images in ../shared/data.

For each source image (magnetic-tile, neu-det, deeppcb, bsdata) the benchmark writes the
original and one capture of it under a random rotation (any angle), shift, 70-95% crop,
brightness/gamma change, blur or noise and JPEG re-encoding. Positives: (original, capture).
Negatives: every other pair, which includes the hard ones: other tiles of the same kind,
other crops of one PCB design, neighbouring spots of the same ball screw.

Methods, side by side in one run, one core (cv2 and FAISS single-threaded):
* keepsight: describe (ORB, hashes, stats) + VLAD/FAISS top-k + RANSAC verification.
* global hash baseline: a plain 64-bit DCT pHash (implemented here; imagededup is not
  installed), pairs at Hamming distance <= 10 (imagededup's default threshold).

    python benchmarks/bench_similarity.py [--per-source 60] [--seed 0]

Writes benchmarks/results/similarity.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import faiss  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.similarity import synth  # noqa: E402

from keepsight.dataset import Dataset  # noqa: E402
from keepsight.descriptors.compute import decode_reduced, hamming64, perceptual_hashes  # noqa: E402
from keepsight.ingest.importer import import_path  # noqa: E402
from keepsight.similarity import find_similar  # noqa: E402

SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCES = {
    "magnetic-tile": "magnetic-tile/*/Imgs/*.jpg",
    "neu-det": "neu-det/**/*.jpg",
    "deeppcb": "deeppcb/**/*_test.jpg",
    "bsdata": "bsdata/data/**/*.jpg",
}
HASH_THRESHOLD = 10


def pick_sources(per_source: int, rng: random.Random) -> list[Path]:
    out = []
    for pattern in SOURCES.values():
        files = sorted(SHARED.glob(pattern))
        out += rng.sample(files, min(per_source, len(files)))
    return out


def build_pairs(files: list[Path], folder: Path, seed: int) -> tuple[list[str], set[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    names, positives = [], set()
    for i, f in enumerate(files):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        a, b = f"{i:04d}_a.jpg", f"{i:04d}_b.jpg"
        cv2.imwrite(str(folder / a), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(folder / b), synth.random_capture(img, rng))
        names += [a, b]
        positives.add((a, b))
    return names, positives


def object_key(path: Path) -> str | None:
    """Provenance says these show one physical object (bsdata: one spot of the time-lapse;
    magnetic-tile: exposures exp1..6 of one tile have nearby numbers). Such pairs of different
    sources are neither positives nor negatives: the benchmark cannot label them."""
    parts = path.stem.split("_")
    if path.parts[len(SHARED.parts)] == "bsdata" and len(parts) >= 4 and parts[0] == "01":
        return f"bsdata:{parts[2]}_{parts[3]}"
    return None


def _tile_number(path: Path) -> int | None:
    return int(path.stem.split("_")[2]) if path.parts[len(SHARED.parts)] == "magnetic-tile" else None


def unlabelled_pairs(files: list[Path], names: list[str]) -> set[tuple[str, str]]:
    out = set()
    for a, b in combinations(sorted(names), 2):
        fa, fb = files[int(a[:4])], files[int(b[:4])]
        if fa == fb:
            continue
        ka, kb = object_key(fa), object_key(fb)
        ta, tb = _tile_number(fa), _tile_number(fb)
        if (ka is not None and ka == kb) or (ta is not None and tb is not None and abs(ta - tb) < 200):
            out.add((a, b))
    return out


def score(
    found: set[tuple[str, str]], positives: set[tuple[str, str]], unlabelled: set[tuple[str, str]]
) -> dict[str, float]:
    found = found - unlabelled
    tp = len(found & positives)
    return {
        "true_positives": tp,
        "false_positives": len(found - positives),
        "precision": round(tp / len(found), 4) if found else 1.0,
        "recall": round(tp / len(positives), 4),
    }


def run_keepsight(folder: Path, work: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]], float, dict]:
    with Dataset.init(work / "ds") as ds:
        import_path(ds, folder, format="image_folder")
        t0 = time.perf_counter()
        result = find_similar(ds, workers=1, regions=False)
        seconds = time.perf_counter() - t0
    # pairs: the verified edges; groups: every pair inside one group (what a splitter uses, so
    # one wrong edge between two big groups costs many pairs)
    edges = {tuple(sorted((Path(p.path_a).name, Path(p.path_b).name))) for p in result.pairs}
    grouped = set()
    for g in result.groups:
        grouped |= set(combinations(sorted(Path(p).name for p in g.paths), 2))
    return edges, grouped, seconds, result.stats


def run_phash(folder: Path, names: list[str]) -> tuple[set[tuple[str, str]], float]:
    t0 = time.perf_counter()
    hashes = {}
    for n in names:
        pixels, *_ = decode_reduced((folder / n).read_bytes())
        gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        hashes[n] = perceptual_hashes(gray)[0]
    found = {(a, b) for a, b in combinations(sorted(names), 2) if hamming64(hashes[a], hashes[b]) <= HASH_THRESHOLD}
    return found, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-source", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent")
    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)
    files = pick_sources(args.per_source, random.Random(args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pairs"
        folder.mkdir()
        names, positives = build_pairs(files, folder, args.seed)
        ks_edges, ks_grouped, ks_seconds, ks_stats = run_keepsight(folder, Path(tmp))
        ph_found, ph_seconds = run_phash(folder, names)
    unlabelled = unlabelled_pairs(files, names)
    per_1000 = 1000.0 / len(names)
    report = {
        "images": len(names),
        "positive_pairs": len(positives),
        "unlabelled_pairs": len(unlabelled),
        "sources": {k: v for k, v in SOURCES.items()},
        "per_source": args.per_source,
        "seed": args.seed,
        "cores": 1,
        "keepsight": {
            **score(ks_edges, positives, unlabelled),
            "groups": score(ks_grouped, positives, unlabelled),
            "false_pairs_to_check": sorted(
                f"{files[int(a[:4])].relative_to(SHARED)} <-> {files[int(b[:4])].relative_to(SHARED)}"
                for a, b in ks_edges - positives - unlabelled
            )[:40],
            "seconds_per_1000_images": round(ks_seconds * per_1000, 2),
            "stats": {k: v for k, v in ks_stats.items() if k != "describe_failed"},
        },
        "phash_baseline": {
            **score(ph_found, positives, unlabelled),
            "seconds_per_1000_images": round(ph_seconds * per_1000, 2),
            "note": f"plain 64-bit DCT pHash, Hamming <= {HASH_THRESHOLD}; imagededup not installed",
        },
    }
    out = REPO / "benchmarks" / "results" / "similarity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
