"""The whole audit of a real dataset, as a ratio to descriptor extraction alone (issue 4, acceptance 4).

Side by side in one run, on the same imported dataset copy:
1. ``describe``: the describe-once stage alone, on a fresh copy (nothing described yet);
2. ``audit``: ``run_audit`` with every check on another fresh copy (it describes, searches,
   verifies and runs the checks).
The ratio audit / describe says what the checks and the same-object engine add on top of
decoding and describing each image once. Per-check seconds come from the audit's own results.

    python benchmarks/bench_audit.py [--dataset neu-det] [--out benchmarks/results/audit.json] [--findings FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from keepsight import Dataset, import_path
from keepsight.audit.runner import run_audit
from keepsight.checks.context import cpu_seconds
from keepsight.descriptors.describe import describe_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FORMATS = {"neu-det": "voc", "deeppcb": "deeppcb", "bsdata": "labelme", "magnetic-tile": "mask_folder"}


def _fresh_copy(template: Path, work: Path, name: str) -> Dataset:
    target = work / name
    shutil.copytree(template, target)
    return Dataset.open(target)


def bench(name: str, work: Path, findings: Path | None = None) -> dict[str, object]:
    template = work / "template"
    with Dataset.init(template) as ds:
        import_path(ds, SHARED / name, format=FORMATS[name], skip_bad=True)
        samples = sum(1 for _ in ds.samples())

    load_before = os.getloadavg()
    with _fresh_copy(template, work, "describe") as ds:
        t0, c0 = time.perf_counter(), cpu_seconds()
        describe_dataset(ds)
        t_describe, c_describe = time.perf_counter() - t0, cpu_seconds() - c0

    with _fresh_copy(template, work, "audit") as ds:
        t0, c0 = time.perf_counter(), cpu_seconds()
        report = run_audit(ds)
        t_audit, c_audit = time.perf_counter() - t0, cpu_seconds() - c0
    if findings is not None:  # the audit's own report, as `keepsight audit --json` writes it
        findings.write_text(json.dumps(report.as_dict(), indent=1, default=str) + "\n", encoding="utf-8")

    return {
        "dataset": name,
        "samples": samples,
        "seconds_describe_only": round(t_describe, 2),
        "seconds_full_audit": round(t_audit, 2),
        "ratio_audit_to_describe": round(t_audit / t_describe, 2),
        # CPU seconds (this process and its describe workers): less sensitive to other jobs on the machine
        "cpu_seconds_describe_only": round(c_describe, 2),
        "cpu_seconds_full_audit": round(c_audit, 2),
        "cpu_ratio_audit_to_describe": round(c_audit / c_describe, 2),
        "findings": report.summary["findings"],
        "stages": report.summary["stages"],
        "seconds_per_check": {r.check: round(r.seconds, 2) for r in report.results},
        "cpu_seconds_per_check": {r.check: round(r.cpu_seconds, 2) for r in report.results},
        "check_status": {r.check: r.status for r in report.results if r.status != "ok"},
        "load_average": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="neu-det", choices=sorted(FORMATS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "audit.json")
    parser.add_argument("--findings", type=Path, default=None, help="also write the audit's JSON report here")
    args = parser.parse_args()
    if not (SHARED / args.dataset).is_dir():
        raise SystemExit(f"{SHARED / args.dataset} is missing: the benchmark reads the real datasets from ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args.dataset, Path(tmp), args.findings)
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
