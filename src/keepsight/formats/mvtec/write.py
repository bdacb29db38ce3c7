"""Writing the MVTec AD / anomalib folder layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.mask_folder._masks import rasterise, save_png
from keepsight.formats.mvtec.read import GOOD, GROUND_TRUTH, MASK_SUFFIX
from keepsight.model.annotation import Annotation, Sample

DEFAULT_CATEGORY = "default"
DEFAULT_DEFECT = "defect"


def _folder_name(name: str) -> str:
    """A name usable as one folder: no separators, not '.' or '..'."""
    cleaned = name.replace("/", "_").replace("\\", "_").strip()
    return cleaned if cleaned not in {"", ".", ".."} else "_"


def write_mvtec(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    used: dict[Path, set[str]] = {}
    for sample, anns in view.samples():
        category = _folder_name(str(sample.metadata.get("category") or ctx.option("category", DEFAULT_CATEGORY)))
        defect = _defect_type(sample, anns, ctx)
        if sample.split == "train" and defect is not None:
            ctx.loss("NG train images -> dropped (MVTec train/ holds only good images)")
            continue
        if defect is not None and _folder_name(defect) == GOOD:
            ctx.loss("defect type 'good' -> read back as a good image (MVTec's name for OK)")
        split = "train" if sample.split == "train" else "test"
        if sample.split in ("val", "unassigned"):
            ctx.loss(f"{sample.split} split -> test (MVTec has only train and test)")
        folder = dest / category / split / (_folder_name(defect) if defect is not None else GOOD)
        name = _unique_name(sample, folder, used)
        view.copy_image(sample, folder / name)
        if defect is None:
            continue
        pixels = _defect_pixels(sample, anns, defect, ctx)
        if pixels is not None:
            mask_path = dest / category / GROUND_TRUTH / folder.name / f"{Path(name).stem}{MASK_SUFFIX}.png"
            save_png(pixels.astype(np.uint8) * 255, mask_path)


def _unique_name(sample: Sample, folder: Path, used: dict[Path, set[str]]) -> str:
    """The image's file name, prefixed with its id when the stem is taken (masks pair by stem)."""
    name = Path(sample.path).name
    stems = used.setdefault(folder, set())
    if Path(name).stem in stems:
        name = f"{sample.id}_{name}"
    stems.add(Path(name).stem)
    return name


def _defect_type(sample: Sample, annotations: list[Annotation], ctx: WriteContext) -> str | None:
    """The image's defect folder (its first tag, else its first area's class); None for good."""
    tags = [a for a in annotations if a.kind == "tag"]
    regions = [a for a in annotations if a.kind != "tag"]
    if sample.verdict == "OK":
        if annotations:
            ctx.loss("annotations of OK images -> dropped (MVTec good images carry none)", len(annotations))
        return None
    if not annotations and sample.verdict is None:
        ctx.loss("images without a verdict or annotations -> good (MVTec has no 'unknown')")
        return None
    if len(tags) > 1:
        ctx.loss("tags after the first -> dropped (an MVTec image has one defect type)", len(tags) - 1)
    if any(a.attributes for a in tags):
        ctx.loss("tag attributes -> dropped (MVTec holds none)")
    if tags:
        return tags[0].label
    return regions[0].label if regions else DEFAULT_DEFECT


def _defect_pixels(sample: Sample, annotations: list[Annotation], defect: str, ctx: WriteContext) -> np.ndarray | None:
    """The union of the defect's areas; records every area MVTec's one binary mask cannot keep."""
    union: np.ndarray | None = None
    for ann in annotations:
        if ann.kind == "tag":
            continue
        if ann.label != defect:
            ctx.loss("areas of another class than the image's defect type -> dropped (one defect type per image)")
            continue
        pixels = rasterise(ann.geometry, sample.height, sample.width)
        if pixels is None:
            ctx.loss(f"{ann.kind} -> dropped (MVTec ground truth holds only areas)")
            continue
        if ann.kind != "mask":
            ctx.loss(f"{ann.kind} -> mask (rasterised)")
        if ann.attributes:
            ctx.loss("annotation attributes -> dropped (MVTec masks hold none)")
        if union is not None:
            ctx.loss("several areas of the defect in an image -> merged into one mask")
        union = pixels if union is None else union | pixels
    return union
