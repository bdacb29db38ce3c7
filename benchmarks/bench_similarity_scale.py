"""Scale of the candidate search: 10^6 synthetic global descriptors in the product's index.

The vectors have the product's shape after its dataset-learned PCA-whitening (VLAD 16,384 ->
128 floats, L2-normalised). They are clustered like look-alike parts (``--clusters`` tight
clusters) and ``--planted`` of them get a near-duplicate (cosine ~0.9, what a re-capture gives)
added at the end. Everything goes through ``keepsight.similarity.index.GlobalIndex``, the class
``find_similar`` uses, so above ``IVF_FROM`` vectors this measures its IVF with 8-bit codes:

* build: training the inverted file and adding all vectors (``faiss_index()``),
* memory: resident set size of the process before and after, and the index's own bytes,
* search: k-nearest neighbours of 10,000 stored vectors (what the candidate pass does for every
  image), the seconds this extrapolates to per 1000 images, recall of the planted duplicate in
  the top k, and agreement with an exact search on 200 queries,
* persistence: saving (``base.npz`` + ``ivf.faiss``) and loading it again,
* adding one image: VLAD-encoding MAX_KEYPOINTS (600) ORB descriptors with the stored codebook, projecting
  them, appending to the live index and writing the part file, repeated ``--adds`` times.

    python benchmarks/bench_similarity_scale.py [--count 1000000]

One core (FAISS, BLAS single-threaded). Writes benchmarks/results/similarity_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import faiss  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from keepsight.descriptors import vlad  # noqa: E402
from keepsight.descriptors.compute import MAX_KEYPOINTS  # noqa: E402
from keepsight.descriptors.reduce import DIMENSIONS, Projection  # noqa: E402
from keepsight.similarity.index import IVF_FROM, NPROBE, GlobalIndex, similarity_dir  # noqa: E402

K = 16


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic(count: int, clusters: int, planted: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(vectors (count, d), indices of the planted originals; their duplicates are the last rows)."""
    centres = normalise(rng.standard_normal((clusters, DIMENSIONS)).astype(np.float32))
    base = count - planted
    out = np.empty((count, DIMENSIONS), np.float32)
    for start in range(0, base, 100_000):
        n = min(100_000, base - start)
        noise = rng.standard_normal((n, DIMENSIONS)).astype(np.float32) * 0.09  # cosine to its centre ~0.6
        out[start : start + n] = normalise(centres[rng.integers(0, clusters, n)] + noise)
    originals = rng.choice(base, planted, replace=False)
    dup_noise = rng.standard_normal((planted, DIMENSIONS)).astype(np.float32) * 0.04  # cosine ~0.9
    out[base:] = normalise(out[originals] + dup_noise)
    return out, originals


def timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--planted", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--adds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "similarity_scale.json")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    rss_start = rss_mb()
    vectors, originals = synthetic(args.count, args.clusters, args.planted, rng)
    digests = [f"{i:064x}" for i in range(args.count)]
    codebook = rng.random((vlad.CODEBOOK_SIZE, vlad.BITS)).astype(np.float32)
    raw_dim = vlad.CODEBOOK_SIZE * vlad.BITS
    projection = Projection(
        mean=np.zeros(raw_dim, np.float32),
        components=(rng.standard_normal((DIMENSIONS, raw_dim)) / np.sqrt(raw_dim)).astype(np.float32),
    )
    index = GlobalIndex("vlad", [], np.zeros((0, DIMENSIONS), np.float32), codebook, projection, trained_on=2000)
    index.add(digests, vectors)
    del vectors
    _, build_s = timed(index.faiss_index)
    rss_built = rss_mb()
    faiss_index = index.faiss_index()
    codes_mb = faiss_index.sa_code_size() * faiss_index.ntotal / 2**20 if hasattr(faiss_index, "sa_code_size") else None

    queries = rng.choice(args.count, args.queries, replace=False)
    (_, found), search_s = timed(lambda: index.search(index.vectors[queries], K + 1))
    base = args.count - args.planted
    (_, dup_nn), _ = timed(lambda: index.search(index.vectors[originals], K + 1))
    planted_recall = float(np.mean([base + i in row for i, row in enumerate(dup_nn)]))
    exact = faiss.IndexFlatIP(DIMENSIONS)
    exact.add(index.vectors)
    sample = queries[:200]
    _, truth = exact.search(index.vectors[sample], K + 1)
    del exact
    agreement = float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found[:200], truth, strict=True)]))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, save_s = timed(lambda: index.save(root))
        folder = similarity_dir(root) / "global-vlad"
        on_disk_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        loaded, load_s = timed(lambda: GlobalIndex.load(root, "vlad"))
        assert loaded is not None
        _, reopen_s = timed(loaded.faiss_index)
        del loaded
        add_ms = []
        for i in range(args.adds):
            descriptors = rng.integers(0, 256, (MAX_KEYPOINTS, 32), dtype=np.uint8)

            def add_one(i: int = i, descriptors: np.ndarray = descriptors) -> None:
                index.add([f"new{i:061d}"], index.encode([descriptors]))
                index.save(root)

            add_ms.append(timed(add_one)[1] * 1000)
        _, hits = index.search(index.encode([descriptors]), 1)
        found_new = index.digests[int(hits[0, 0])] == f"new{args.adds - 1:061d}"

    report = {
        "vectors": args.count,
        "dimensions": DIMENSIONS,
        "index": type(faiss_index).__name__,
        "ivf_from": IVF_FROM,
        "nlist": getattr(faiss_index, "nlist", None),
        "nprobe": NPROBE,
        "cores": 1,
        "load_average": round(os.getloadavg()[0], 2),
        "build_seconds": round(build_s, 1),
        "memory_mb": {
            "rss_before_vectors": round(rss_start),
            "rss_with_vectors_and_index": round(rss_built),
            "float_vectors": round(args.count * DIMENSIONS * 4 / 2**20),
            "index_codes": round(codes_mb) if codes_mb is not None else None,
            "on_disk": round(on_disk_mb),
        },
        "search": {
            "k": K,
            "queries": args.queries,
            "ms_per_query": round(search_s * 1000 / args.queries, 3),
            "seconds_per_1000_images": round(search_s * 1000 / args.queries, 2),
            "seconds_for_all_images": round(search_s * args.count / args.queries),
            "planted_duplicate_in_top_k": round(planted_recall, 4),
            "agreement_with_exact_top_k": round(agreement, 4),
        },
        "save_seconds": round(save_s, 2),
        "load_seconds": round(load_s, 2),
        "reopen_index_seconds": round(reopen_s, 2),
        "add_one_image_ms": {
            "median": round(statistics.median(add_ms), 2),
            "max": round(max(add_ms), 2),
            "what": f"VLAD of {MAX_KEYPOINTS} ORB descriptors + projection + append to the live index + part file written durably",
            "found_again": found_new,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
