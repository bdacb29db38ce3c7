"""Format conformance: detect, read, and export-then-import round trips on generated data.

Subclass :class:`FormatConformance` once per format (datumaro's TestDataFormatBase pattern)
and set ``format_name`` and ``kinds`` (the annotation kinds the format stores losslessly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Points, Polygon, Polyline, RotatedBox, Sample, Tag
from keepsight.model.convert import array_to_mask


def make_geometry(kind: str, rng: np.random.Generator, width: int, height: int):
    """A random valid geometry of ``kind`` inside a width x height image (integer-ish coords)."""
    x1, y1 = float(rng.integers(0, width // 2)), float(rng.integers(0, height // 2))
    x2, y2 = float(rng.integers(x1 + 2, width)), float(rng.integers(y1 + 2, height))
    if kind == "box":
        return Box(x1, y1, x2, y2)
    if kind == "rotated_box":
        w, h = float(rng.integers(4, width // 3)), float(rng.integers(4, height // 3))
        return RotatedBox(width / 2, height / 2, w, h, float(rng.integers(0, 360)))
    if kind == "polygon":
        return Polygon([(x1, y1), (x2, y1), (x2, y2), (x1, y2)])
    if kind == "polyline":
        return Polyline([(x1, y1), (x2, y2), (x1, y2)])
    if kind == "points":
        return Points([(x1, y1), (x2, y2)])
    if kind == "mask":
        arr = np.zeros((height, width), dtype=bool)
        arr[int(y1): int(y2), int(x1): int(x2)] = True
        return array_to_mask(arr)
    if kind == "tag":
        return Tag()
    raise ValueError(kind)


def make_view(tmp: Path, kinds: list[str], *, classes: list[str] | None = None, n_images: int = 4,
              seed: int = 0, width: int = 64, height: int = 48, split_names=("train", "val")) -> MemoryView:
    rng = np.random.default_rng(seed)
    classes = classes or ["scratch", "chip", "stain"]
    book = LabelBook()
    for name in classes:
        book.add(name)
    items = []
    for i in range(n_images):
        img_path = tmp / "src" / f"img{i:03d}.png"
        img_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(img_path)
        annotations = []
        for j, kind in enumerate(kinds):
            label = classes[(i + j) % len(classes)]
            book.add(label, kind=kind)
            annotations.append(Annotation(label=label, geometry=make_geometry(kind, rng, width, height)))
        sample = Sample(id=i + 1, path=f"img{i:03d}.png", blob="0" * 64, width=width, height=height,
                        mode="RGB", format="PNG", split=split_names[i % len(split_names)])
        items.append((sample, annotations, img_path))
    return MemoryView(labelbook=book, items=items)


def read_all(format_name: str, path: Path, **options) -> dict[str, list[Annotation]]:
    """Read ``path`` with the format; map each image's file stem to its annotations."""
    fmt = get_format(format_name)
    reading = fmt.read(path, ReadContext(options=options))
    return {Path(item.path).stem: item.annotations for item in reading.items}


def assert_same_annotations(expected: list[Annotation], got: list[Annotation], tol: float = 1e-3) -> None:
    def key(a: Annotation):
        return (a.kind, a.label, str(a.geometry.to_json()))

    remaining = list(got)
    for ann in sorted(expected, key=key):
        match = next((g for g in remaining if ann.same_content(g, tol=tol)), None)
        assert match is not None, f"annotation lost in round trip: {ann}\n got: {got}"
        remaining.remove(match)
    assert not remaining, f"round trip added annotations: {remaining}"


class FormatConformance:
    format_name: str = ""
    kinds: list[str] = []

    def test_round_trip(self, tmp_path: Path) -> None:
        view = make_view(tmp_path, self.kinds)
        fmt = get_format(self.format_name)
        ctx = WriteContext()
        out = tmp_path / "out"
        fmt.write(view, out, ctx)  # type: ignore[attr-defined]
        assert not ctx.losses, f"lossless kinds reported losses: {dict(ctx.losses)}"
        detection = fmt.detect(out)
        assert detection.confidence > 0, detection.reasons
        got = read_all(self.format_name, detection.root or out)
        for sample, annotations in view.samples():
            stem = Path(sample.path).stem
            assert stem in got, f"{stem} missing after round trip; got {sorted(got)}"
            assert_same_annotations(annotations, got[stem])

    def test_rejects_empty_folder(self, tmp_path: Path) -> None:
        detection = get_format(self.format_name).detect(tmp_path)
        assert detection.confidence == 0
        assert detection.reasons, "a rejection must say why"
