"""A deliberately simple external *detection* trainer for the --command tests: it learns the mean
box of each class from the YOLO export's train labels, predicts that box on every test image, and
writes metrics.json with the share of test boxes it hits (IoU >= 0.5) as the score."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def boxes(label_file: Path) -> list[tuple[int, float, float, float, float]]:
    rows = [line.split() for line in label_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(int(r[0]), *map(float, r[1:5])) for r in rows]  # type: ignore[misc]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    w, h = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sums: dict[int, list[float]] = {}
    for f in (args.data / "labels" / "train").glob("*.txt"):
        for cls, *xywh in boxes(f):
            acc = sums.setdefault(cls, [0.0, 0.0, 0.0, 0.0, 0.0])
            for i, v in enumerate(xywh):
                acc[i] += v
            acc[4] += 1
    prior = {cls: tuple(v / acc[4] for v in acc[:4]) for cls, acc in sums.items()}
    hits = total = 0
    for f in (args.data / "labels" / "test").glob("*.txt"):
        for cls, *xywh in boxes(f):
            total += 1
            hits += cls in prior and iou(prior[cls], tuple(xywh)) >= 0.5
    (args.out / "metrics.json").write_text(json.dumps({"test": {"score": hits / max(1, total)}}), encoding="utf-8")


if __name__ == "__main__":
    main()
