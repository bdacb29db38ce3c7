"""``SegmentationObject/`` and ``SegmentationClass/`` PNGs as full-image masks.

* Both PNGs may be palette images (pixel = index) or RGB (pixel = colour). Class colours come
  from ``labelmap.txt`` (a line without a colour gets the VOC palette colour of its index),
  or from the 21 standard VOC classes when there is no label map. Instance colours are the
  VOC palette.
* Index 0 / black is background and index 255 / (224,224,192) is the VOC "void" border:
  neither becomes a mask.
* With ``SegmentationObject``, each instance becomes one mask whose class is the most common
  class under it in ``SegmentationClass`` (or, without a class PNG, the name of the XML object
  of the same number, the VOC convention). With only ``SegmentationClass``, each class present
  becomes one mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keepsight.errors import AnnotationError, ImageError
from keepsight.model import Annotation
from keepsight.model.convert import array_to_mask

from .layout import VocTree

VOC_LABELS = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOID = 255
_NONE = -1  # background or void in a class-index array


def voc_palette(n: int = 256) -> np.ndarray:
    """The standard VOC colour map: bits of the index spread over R, G, B from the high bit down."""
    palette = np.zeros((n, 3), dtype=np.int64)
    for index in range(n):
        value = index
        for bit in range(7, -1, -1):
            for channel in range(3):
                palette[index, channel] |= ((value >> channel) & 1) << bit
            value >>= 3
    return palette


def _pack(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


_PALETTE = voc_palette()
_VOID_COLOUR = int(_pack(_PALETTE[VOID]))


@dataclass
class ClassColours:
    labels: list[str]  # class index -> name
    colours: dict[int, int]  # packed RGB -> class index

    @classmethod
    def build(cls, entries: list[tuple[str, tuple[int, int, int] | None]] | None) -> ClassColours:
        pairs = entries if entries is not None else [(name, None) for name in VOC_LABELS]
        labels = [name for name, _ in pairs]
        colours = {}
        for index, (_, colour) in enumerate(pairs):
            rgb = np.array(colour if colour is not None else _PALETTE[index % len(_PALETTE)], dtype=np.int64)
            colours[int(_pack(rgb))] = index
        colours[0] = _NONE  # black is background whatever the label map says
        colours[_VOID_COLOUR] = _NONE
        return cls(labels, colours)


def _open(path: Path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
        return img
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot read the mask PNG: {exc}", path=path) from None


def _by_colour(img: Image.Image, colours: dict[int, int], path: Path, what: str) -> np.ndarray:
    packed = _pack(np.asarray(img.convert("RGB"), dtype=np.int64))
    values, inverse = np.unique(packed, return_inverse=True)
    lookup = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        if int(value) not in colours:
            rgb = ((value >> 16) & 255, (value >> 8) & 255, value & 255)
            raise AnnotationError(f"colour {tuple(int(c) for c in rgb)} is not a known {what} colour", path=path)
        lookup[i] = colours[int(value)]
    return lookup[inverse].reshape(packed.shape)


def _indexed(img: Image.Image) -> bool:
    return img.mode in ("P", "L", "I", "I;16")


def class_indices(path: Path, classes: ClassColours) -> np.ndarray:
    """Class index per pixel, -1 for background and void."""
    img = _open(path)
    if not _indexed(img):
        return _by_colour(img, classes.colours, path, "class")
    indices = np.asarray(img, dtype=np.int64).copy()
    indices[(indices == 0) | (indices == VOID)] = _NONE
    too_big = indices >= len(classes.labels)
    if too_big.any():
        raise AnnotationError(
            f"class index {int(indices[too_big].max())} is beyond the {len(classes.labels)} classes of the label map",
            path=path,
        )
    return indices


def instance_ids(path: Path) -> np.ndarray:
    """Instance number per pixel, 0 for background and void."""
    img = _open(path)
    if _indexed(img):
        ids = np.asarray(img, dtype=np.int64).copy()
    else:
        ids = _by_colour(img, {int(_pack(c)): i for i, c in enumerate(_PALETTE)}, path, "VOC instance")
    ids[ids == VOID] = 0
    return ids


def read_masks(tree: VocTree, item_id: str, classes: ClassColours, objects: list[str]) -> list[Annotation]:
    """The masks of one item (empty when the tree has no segmentation PNG for it)."""
    class_png = _png(tree, "SegmentationClass", item_id)
    object_png = _png(tree, "SegmentationObject", item_id)
    cls = class_indices(class_png, classes) if class_png else None
    if object_png is None:
        if cls is None:
            return []
        present = [int(i) for i in np.unique(cls) if i != _NONE]
        return [Annotation(classes.labels[i], array_to_mask(cls == i)) for i in present]
    ids = instance_ids(object_png)
    if cls is not None and cls.shape != ids.shape:
        raise AnnotationError(
            f"SegmentationObject is {ids.shape[1]}x{ids.shape[0]} but SegmentationClass is "
            f"{cls.shape[1]}x{cls.shape[0]}",
            path=object_png,
        )
    masks = []
    for instance in (int(i) for i in np.unique(ids) if i != 0):
        region = ids == instance
        masks.append(
            Annotation(_instance_label(instance, region, cls, classes, objects, object_png), array_to_mask(region))
        )
    return masks


def _instance_label(
    instance: int, region: np.ndarray, cls: np.ndarray | None, classes: ClassColours, objects: list[str], path: Path
) -> str:
    if cls is not None:
        under = cls[region]
        under = under[under != _NONE]
        if under.size:
            return classes.labels[int(np.bincount(under).argmax())]
    if instance <= len(objects):
        return objects[instance - 1]
    raise AnnotationError(
        f"instance {instance} has no class: no SegmentationClass pixels under it and no XML object number {instance}",
        path=path,
    )


def _png(tree: VocTree, folder: str, item_id: str) -> Path | None:
    base = tree.child(folder)
    if base is None:
        return None
    path = base.joinpath(*f"{item_id}.png".split("/"))
    return path if path.is_file() else None
