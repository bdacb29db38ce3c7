"""A tiny external trainer for `keepsight curve --command`: a nearest-centroid image classifier.

It shows the contract (docs/curves.md): read the exported train folder, train, predict every
train and test image, and write {out}/predictions.jsonl. Needs only numpy and Pillow.

    keepsight curve --command "{python} examples/nearest_centroid.py --manifest {manifest} --data {data} --out {out}"

Each image becomes a 16x16 gray thumbnail plus a 16-bin histogram; a class is the mean of its
training vectors; an image gets the class of the nearest mean. Only the train lines of the
manifest carry labels it may use; the test labels are never read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image


def features(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        gray = np.asarray(im.convert("L").resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    hist = np.histogram(gray, bins=16, range=(0.0, 1.0))[0].astype(np.float32) / gray.size
    return np.concatenate([gray.ravel(), 4.0 * hist])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True, help="samples.jsonl written by keepsight")
    parser.add_argument("--data", type=Path, required=True, help="the exported dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="where predictions.jsonl goes")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors = {row["file"]: features(args.data / row["file"]) for row in rows}
    train = [row for row in rows if row["split"] == "train"]
    classes = sorted({row["label"] for row in train})
    centroids = np.stack([np.mean([vectors[r["file"]] for r in train if r["label"] == c], axis=0) for c in classes])
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            distances = np.linalg.norm(centroids - vectors[row["file"]], axis=1)
            fh.write(json.dumps({"file": row["file"], "label": classes[int(np.argmin(distances))]}) + "\n")


if __name__ == "__main__":
    main()
