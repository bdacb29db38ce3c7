"""What creating one small file costs, per folder: one of the noise sources of the pipeline benchmarks.

keepsight writes one description file per image (a temporary name, then a rename, as
``descriptors/store.py`` does). This writes ``--files`` files of 40 KB that way into fresh
sub-folders of each folder given and reports CPU and wall milliseconds per file. On this project's
machines the cost has ranged from 0.04 to 1.5 ms of CPU per file within one session, in /tmp and in
other folders of the same disk alike: run it beside a benchmark to see what the machine was doing.

    python benchmarks/bench_file_create.py [--files 500] /tmp benchmarks/work /var/tmp

Writes benchmarks/results/file_create.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cost(base: Path, files: int) -> dict[str, float]:
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=base, prefix="file-create-"))
    try:
        folders = [root / f"{i:02x}" for i in range(64)]
        for folder in folders:
            folder.mkdir()
        payload = os.urandom(40_000)
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(files):
            fd, tmp = tempfile.mkstemp(dir=folders[i % len(folders)], prefix=".tmp-", suffix=".npz")
            os.write(fd, payload)
            os.close(fd)
            os.replace(tmp, tmp.replace(".tmp-", ""))
        return {
            "cpu_ms_per_file": round((time.process_time() - cpu) * 1000 / files, 3),
            "wall_ms_per_file": round((time.perf_counter() - wall) * 1000 / files, 3),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "file_create.json")
    args = parser.parse_args()
    report = {"files": args.files, "bytes_per_file": 40_000, "folders": {str(f): cost(f, args.files) for f in args.folders}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
