"""Splits and versions on the real datasets in ../shared/data (magnetic-tile, bsdata, deeppcb).

For each dataset, in a fresh dataset folder under the system temp dir:

1. import it; apply the split its authors shipped (DeepPCB's trainval/test lists come with the
   import; BSData's ``train_test_split`` comes from image_data.json via ``--from-file``);
2. audit that split with ``split.exact_leak``, ``split.near_leak`` and ``split.object_leak``
   and count the object groups it spreads over several splits;
3. ``repair_split`` (fewest moves), audit again;
4. a fresh ``split_dataset`` 70/15/15 (stratified by class, ``--group auto``), audit again;
5. ``create_version``: manifest bytes per 1,000 samples against the image bytes it references.

Side by side in one run: the seconds of the same-object engine (which ``--group auto`` runs once
per dataset state; later splits reuse its groups) against the seconds of a whole split (group
assignment, writing every move and its event, saving the run).

    python benchmarks/bench_split.py [--only deeppcb]

Writes benchmarks/results/split.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from keepsight.audit.runner import build_checks, run_checks  # noqa: E402
from keepsight.checks.context import AuditContext  # noqa: E402
from keepsight.dataset import Dataset  # noqa: E402
from keepsight.ingest.importer import import_path  # noqa: E402
from keepsight.similarity import SimilarityResult, load_groups  # noqa: E402
from keepsight.splits import apply_split_file, repair_split, split_dataset  # noqa: E402
from keepsight.versions import create_version, get_version  # noqa: E402

SHARED = Path(os.environ.get("KEEPSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
LEAK_CHECKS = ["split.exact_leak", "split.near_leak", "split.object_leak"]
# name -> (source folder, format, shipped split file or None)
DATASETS: dict[str, tuple[str, str, str | None]] = {
    "magnetic-tile": ("magnetic-tile", "mask_folder", None),
    "bsdata": ("bsdata", "labelme", "bsdata/image_data.json"),
    "deeppcb": ("deeppcb/PCBData", "deeppcb", None),
}


def leaks(ds: Dataset) -> dict[str, int]:
    """The split.* leak checks, on the object groups the split computed (stored by the engine)."""
    stored = load_groups(ds.root)
    assert stored is not None
    ctx = AuditContext(ds)
    ctx.similarity = SimilarityResult(*stored)  # splits do not change what looks alike: reuse it
    results = run_checks(ctx, build_checks(ds.config.audit, only=LEAK_CHECKS))
    return {r.check: len(r.findings) for r in results}


def brief(report: Any) -> dict[str, Any]:
    return {"moves": len(report.moves), "counts": report.counts, "ratios_achieved": report.ratios_achieved,
            "groups": report.groups, "grouped_samples": report.grouped_samples, "largest_group": report.largest_group,
            "straddling_before": report.straddling_before, "straddling_after": report.straddling_after}


def run(name: str, tmp: Path) -> dict[str, Any]:
    folder, fmt, shipped = DATASETS[name]
    out: dict[str, Any] = {"source": folder, "format": fmt}
    with Dataset.init(tmp / name) as ds:
        t0 = time.perf_counter()
        imported = import_path(ds, SHARED / folder, format=fmt, skip_bad=True)
        out["import"] = {"added": imported.added, "problems": len(imported.problems),
                         "seconds": round(time.perf_counter() - t0, 1)}
        if shipped is not None:
            applied = apply_split_file(ds, str(SHARED / shipped), reason="the authors' split")
            out["shipped_file"] = {k: applied.details[k] for k in ("records", "matched", "unmatched")}
        t0 = time.perf_counter()
        planned = repair_split(ds, dry_run=True)  # runs the same-object engine once; later steps reuse its groups
        out["similarity_seconds"] = round(time.perf_counter() - t0, 1)
        out["similarity_groups"] = planned.groups
        stored = load_groups(ds.root)
        assert stored is not None
        out["largest_groups"] = [{"size": len(g.samples), "links_by_reason": g.reasons, "example": g.paths[:3]}
                                 for g in stored[1][:3]]
        counts: dict[str, int] = {}
        for s in ds.samples():
            counts[s.split] = counts.get(s.split, 0) + 1
        out["shipped"] = {"counts": counts, "leaks": leaks(ds)}
        repaired = repair_split(ds, reason="remove the shipped split's leaks")
        out["repair"] = brief(repaired) | {"leaks_after": leaks(ds),
                                           "examples": [m.__dict__ for m in repaired.moves[:5]]}
        t0 = time.perf_counter()
        fresh = split_dataset(ds, ratios="70/15/15", stratify="class", group=["auto"], seed=0,
                              reason="benchmark split")
        out["split_seconds"] = round(time.perf_counter() - t0, 2)
        out["split"] = brief(fresh) | {"per_class": fresh.per_class, "leaks_after": leaks(ds)}
        label = create_version(ds, "benchmark")
        info = get_version(ds, label)
        image_bytes = sum(len(ds.blobs.get(d)) for d in {s.blob for s in ds.samples()})
        out["version"] = {"samples": info.samples, "annotations": info.summary["annotations"],
                          "manifest_bytes": info.manifest_bytes,
                          "manifest_bytes_per_1000_samples": round(info.manifest_bytes * 1000 / info.samples),
                          "image_bytes": image_bytes,
                          "manifest_share_of_image_bytes": round(info.manifest_bytes / image_bytes, 5)}
    out["ratio_similarity_to_split"] = round(out["similarity_seconds"] / max(out["split_seconds"], 1e-3), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=list(DATASETS), action="append")
    parser.add_argument("--keep", type=Path, help="Keep the dataset folders here (default: a temp dir, removed).")
    args = parser.parse_args()
    results: dict[str, Any] = {"cores": os.cpu_count(), "datasets": {}}
    target = REPO / "benchmarks" / "results" / "split.json"
    if args.only and target.exists():
        results = json.loads(target.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="keepsight-split-") as tmp:
        for name in args.only or list(DATASETS):
            print(f"{name} ...", flush=True)
            results["datasets"][name] = run(name, args.keep or Path(tmp))
            print(json.dumps(results["datasets"][name], indent=1), flush=True)
            target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
