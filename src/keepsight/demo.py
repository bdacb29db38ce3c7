"""A small synthetic inspection dataset that keepsight can make anywhere (no download).

Grey machined plates photographed on a fixture, with three defect classes drawn as the
annotation kinds people use: ``scratch`` (polygon), ``spot`` (mask) and ``chip`` (box).
Some of the dataset's lies are planted on purpose, so the audit has something to find:
a byte-identical copy under another name, a re-capture of the same plate (rotated and
re-lit), a chip at the very edge, and an image with a drawn marker circle.

It is written in keepsight's manifest format (``keepsight-manifest.jsonl``).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np

from keepsight.model.convert import array_to_mask

SIZE = 256


def _plate(rng: np.random.Generator) -> np.ndarray:
    """A textured grey plate with machining marks and two holes, on a dark fixture."""
    img = np.full((SIZE, SIZE), 40, np.uint8)
    base = rng.integers(120, 170)
    plate = (base + rng.normal(0, 6, (SIZE, SIZE))).clip(0, 255).astype(np.uint8)
    for _ in range(40):  # machining marks
        y = int(rng.integers(0, SIZE))
        cv2.line(plate, (0, y), (SIZE, y + int(rng.integers(-8, 8))), int(base + rng.integers(-15, 15)), 1)
    mask = np.zeros_like(img)
    cv2.rectangle(mask, (20, 20), (236, 236), 255, -1)
    img = np.where(mask > 0, plate, img)
    for cx in (70, 186):
        cv2.circle(img, (cx, int(rng.integers(60, 196))), int(rng.integers(10, 18)), 25, -1)
    return img


def _scratch(img: np.ndarray, rng: np.random.Generator) -> list[list[float]]:
    x, y = rng.integers(50, 200, 2)
    angle = rng.uniform(0, math.pi)
    length = rng.integers(40, 90)
    x2 = int(np.clip(x + length * math.cos(angle), 30, SIZE - 30))
    y2 = int(np.clip(y + length * math.sin(angle), 30, SIZE - 30))
    cv2.line(img, (int(x), int(y)), (x2, y2), 230, 2)
    nx, ny = -math.sin(angle) * 2, math.cos(angle) * 2
    return [[x + nx, y + ny], [x2 + nx, y2 + ny], [x2 - nx, y2 - ny], [x - nx, y - ny]]


def _spot(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cx, cy, r = int(rng.integers(50, 200)), int(rng.integers(50, 200)), int(rng.integers(5, 12))
    cv2.circle(img, (cx, cy), r, 70, -1)
    mask = np.zeros(img.shape, np.uint8)
    cv2.circle(mask, (cx, cy), r, 1, -1)
    return mask.astype(bool)


def _chip(img: np.ndarray, rng: np.random.Generator, *, at_edge: bool = False) -> list[float]:
    x = 2 if at_edge else int(rng.integers(40, 200))  # at_edge: inside the audit's default 2% margin
    y = int(rng.integers(40, 200))
    w, h = int(rng.integers(10, 20)), int(rng.integers(10, 20))
    pts = np.array([[x, y], [x + w, y + h // 2], [x, y + h]], np.int32)
    cv2.fillPoly(img, [pts], 40)
    return [float(x), float(y), float(x + w), float(y + h)]


def make_demo(dest: Path | str, *, n_images: int = 60, seed: int = 0) -> Path:
    """Write the demo dataset to ``dest`` (replacing it) and return the manifest path."""
    if n_images < 1:
        raise ValueError("the demo needs at least one image")
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "images").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n_images):
        img = _plate(rng)
        kind = ("scratch", "spot", "chip", "ok")[i % 4]
        annotations: list[dict[str, object]] = []
        if kind == "scratch":
            annotations.append({"kind": "polygon", "label": "scratch",
                                "geometry": [c for p in _scratch(img, rng) for c in p]})
        elif kind == "spot":
            annotations.append({"kind": "mask", "label": "spot", "geometry": array_to_mask(_spot(img, rng)).to_json()})
        elif kind == "chip":
            annotations.append({"kind": "box", "label": "chip", "geometry": _chip(img, rng, at_edge=i == 2)})
        if i == 9:  # somebody circled the defect with a red pen
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            cv2.circle(img, (128, 128), 60, (0, 0, 255), 3)
        name = f"images/plate_{i:03d}.png"
        cv2.imwrite(str(dest / name), img)
        lines.append({
            "image": name,
            "split": ("train", "train", "train", "val", "test")[i % 5],
            "verdict": "OK" if kind == "ok" else "NG",
            "metadata": {"station": "S1", "part_serial": f"P{i:04d}", "lighting": "ring"},
            "annotations": annotations,
        })
    # A byte-identical copy under another name, and a rotated, brighter re-capture of another plate.
    copied, recaptured = min(1, n_images - 1), min(4, n_images - 1)
    shutil.copyfile(dest / f"images/plate_{copied:03d}.png", dest / f"images/plate_{copied:03d}_copy.png")
    lines.append({**lines[copied], "image": f"images/plate_{copied:03d}_copy.png", "split": "test"})
    again = cv2.imread(str(dest / f"images/plate_{recaptured:03d}.png"), cv2.IMREAD_UNCHANGED)
    if again is None:
        raise OSError(f"cannot read back {dest / f'images/plate_{recaptured:03d}.png'}")
    again = cv2.convertScaleAbs(cv2.rotate(again, cv2.ROTATE_90_CLOCKWISE), alpha=1.15, beta=10)
    cv2.imwrite(str(dest / f"images/plate_{recaptured:03d}_recapture.png"), again)
    lines.append({"image": f"images/plate_{recaptured:03d}_recapture.png", "split": "test", "verdict": "OK",
                  "metadata": {"station": "S1", "lighting": "ring"}, "annotations": []})
    manifest = dest / "keepsight-manifest.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest
