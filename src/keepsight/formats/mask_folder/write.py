"""Writing a mask folder: images/ + masks/ (one indexed PNG per image) + classes.txt."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.mask_folder._layout import MASK_DIRS, folder_info
from keepsight.formats.mask_folder._masks import rasterise, save_png
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import LabelBook

BACKGROUND = "_background_"


class _Classes:
    """Class name -> mask value (0 is background), growing as unknown labels appear."""

    def __init__(self, book: LabelBook) -> None:
        self.book = book
        self.names = [BACKGROUND, *book.names()]
        self.index = {name: i for i, name in enumerate(self.names)}

    def value(self, label: str) -> int:
        if label not in self.index:
            self.index[label] = len(self.names)
            self.names.append(label)
        return self.index[label]

    def dtype(self) -> type:
        return np.uint8 if len(self.names) <= 256 else np.uint16

    def palette(self) -> list[int] | None:
        if len(self.names) > 256:
            return None  # 16-bit masks have no palette
        colours = [(0, 0, 0)] + [self._colour(name) for name in self.names[1:]]
        return [c for rgb in colours for c in rgb]

    def _colour(self, name: str) -> tuple[int, int, int]:
        spec = self.book.classes.get(name)
        return (spec.rgb() if spec is not None else None) or (255, 255, 255)


def write_mask_folder(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    classes = _Classes(view.labelbook)
    used: dict[Path, set[str]] = {}
    for sample, anns in view.samples():
        sub = Path(*[p for p in (_split_folder(sample), _class_folder(sample, anns, ctx)) if p])
        name = Path(sample.path).name
        stems = used.setdefault(sub, set())
        if Path(name).stem in stems:
            name = f"{sample.id}_{name}"
        stems.add(Path(name).stem)
        view.copy_image(sample, dest / "images" / sub / name)
        index = _paint(anns, sample, classes, ctx)
        save_png(index, dest / "masks" / sub / f"{Path(name).stem}.png", classes.palette())
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "classes.txt").write_text("\n".join(classes.names) + "\n", encoding="utf-8")


def _split_folder(sample: Sample) -> str | None:
    return sample.split if sample.split != "unassigned" else None


def _class_folder(sample: Sample, annotations: list[Annotation], ctx: WriteContext) -> str | None:
    """The image's class folder: its tag, else its verdict, else none."""
    tags = [a for a in annotations if a.kind == "tag"]
    if not tags:
        return sample.verdict
    if len(tags) > 1:
        ctx.loss("tags after the first -> dropped (an image sits in one class folder)", len(tags) - 1)
    if any(a.attributes for a in tags):
        ctx.loss("tag attributes -> dropped (a folder name holds no attributes)")
    folder = tags[0].label
    _, read_back, _ = folder_info(Path("images", folder, "x.png"), Path())
    if read_back != folder or folder.lower() in MASK_DIRS or "/" in folder:
        ctx.loss(f"tag {folder!r} -> not written (as a folder name it would read back as something else)")
        return sample.verdict
    if sample.verdict == "OK":
        ctx.loss("verdict OK of a tagged image -> NG (a class folder that is not a verdict word reads as NG)")
    return folder


def _paint(annotations: list[Annotation], sample: Sample, classes: _Classes, ctx: WriteContext) -> np.ndarray:
    """The indexed mask of one image; records every area that cannot be kept as it was."""
    index: np.ndarray = np.zeros((sample.height, sample.width), dtype=classes.dtype())
    painted: set[int] = set()
    for ann in annotations:
        if ann.kind == "tag":
            continue
        pixels = rasterise(ann.geometry, sample.height, sample.width)
        if pixels is None or not pixels.any():
            ctx.loss(f"{ann.kind} -> dropped (a mask folder holds only areas with pixels)")
            continue
        if ann.kind != "mask":
            ctx.loss(f"{ann.kind} -> mask (rasterised)")
        if ann.attributes:
            ctx.loss("annotation attributes -> dropped (masks hold no attributes)")
        value = classes.value(ann.label)
        if value in painted:
            ctx.loss("several areas of one class in an image -> merged into one mask (one value per class)")
        overlap = pixels & (index != 0) & (index != value)
        if overlap.any():
            ctx.loss("overlapping areas of different classes -> later class wins (one class per pixel)")
        index[pixels] = value
        painted.add(value)
    return index
