"""Import throughput on the real datasets in ../shared/data.

For each dataset: the time of a full ``import_path`` into a fresh dataset (SQLite + local
blobs, default settings), and, measured side by side in the same run, the time to just read
and decode the same image files with Pillow on one thread. The ratio says what the catalog,
hashing, validation and blob writes cost on top of decoding.

    python benchmarks/bench_import.py [--datasets neu-det,deeppcb] [--out benchmarks/results/import.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from keepsight import Dataset, dataset_info, import_path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = {"neu-det": "voc", "deeppcb": "deeppcb", "bsdata": "labelme", "magnetic-tile": "mask_folder"}


def decode_only(ds: Dataset) -> float:
    """Seconds to read and fully decode every stored image once, single-threaded."""
    paths = [ds.blobs.local_path(s.blob) for s in ds.samples()]
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            img.load()
    return time.perf_counter() - start


def bench(name: str, fmt: str, work: Path) -> dict[str, object]:
    target = work / name
    ds = Dataset.init(target)
    start = time.perf_counter()
    report = import_path(ds, SHARED / name, format=fmt)
    seconds = time.perf_counter() - start
    n = dataset_info(ds)["samples"]
    decode = decode_only(ds)
    ds.close()
    return {
        "dataset": name,
        "format": fmt,
        "images": n,
        "annotations": report.annotations,
        "import_seconds": round(seconds, 3),
        "images_per_second": round(n / seconds, 1),
        "decode_only_seconds": round(decode, 3),
        "import_over_decode": round(seconds / decode, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results") / "import.json")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent: the import benchmark needs ../shared/data")
    work = Path(tempfile.mkdtemp(prefix="ks-bench-import-"))
    try:
        rows = [bench(name, DATASETS[name], work) for name in args.datasets.split(",")]
    finally:
        shutil.rmtree(work)
    result = {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()}, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for row in rows:
        print(
            f"{row['dataset']:>14}: {row['images']:5d} images in {row['import_seconds']:7.2f} s = "
            f"{row['images_per_second']:7.1f} img/s; decode alone {row['decode_only_seconds']:.2f} s "
            f"(import/decode = {row['import_over_decode']}x)"
        )


if __name__ == "__main__":
    main()
