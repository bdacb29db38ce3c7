"""The whole audit of a real dataset, as a ratio to descriptor extraction alone (issue 4, acceptance 4).

Side by side in one run, on the same imported dataset copy:
1. ``describe``: the describe-once stage alone, on a fresh copy (nothing described yet);
2. ``audit``: ``run_audit`` with every check on another fresh copy (it describes, searches,
   verifies and runs the checks).
The ratio audit / describe says what the checks and the same-object engine add on top of
decoding and describing each image once. Per-check seconds come from the audit's own results.

    python benchmarks/bench_audit.py [--dataset neu-det] [--limit N] [--out benchmarks/results/audit.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from keepsight import Dataset, import_path
from keepsight.audit.runner import run_audit
from keepsight.descriptors.describe import describe_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FORMATS = {"neu-det": "voc", "deeppcb": "deeppcb", "bsdata": "labelme", "magnetic-tile": "mask_folder"}


def _fresh_copy(template: Path, work: Path, name: str) -> Dataset:
    target = work / name
    shutil.copytree(template, target)
    return Dataset.open(target)


def bench(name: str, work: Path) -> dict[str, object]:
    template = work / "template"
    with Dataset.init(template) as ds:
        import_path(ds, SHARED / name, format=FORMATS[name], skip_bad=True)
        samples = sum(1 for _ in ds.samples())

    with _fresh_copy(template, work, "describe") as ds:
        t0 = time.perf_counter()
        describe_dataset(ds)
        t_describe = time.perf_counter() - t0

    with _fresh_copy(template, work, "audit") as ds:
        t0 = time.perf_counter()
        report = run_audit(ds)
        t_audit = time.perf_counter() - t0

    return {
        "dataset": name,
        "samples": samples,
        "seconds_describe_only": round(t_describe, 2),
        "seconds_full_audit": round(t_audit, 2),
        "ratio_audit_to_describe": round(t_audit / t_describe, 2),
        "findings": report.summary["findings"],
        "seconds_per_check": {r.check: round(r.seconds, 2) for r in report.results},
        "check_status": {r.check: r.status for r in report.results if r.status != "ok"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="neu-det", choices=sorted(FORMATS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "audit.json")
    args = parser.parse_args()
    if not (SHARED / args.dataset).is_dir():
        raise SystemExit(f"{SHARED / args.dataset} is missing: the benchmark reads the real datasets from ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args.dataset, Path(tmp))
    result["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
