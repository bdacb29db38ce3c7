"""Mask PNG helpers shared by the mask-based formats (mask_folder, mvtec).

Reading: :func:`read_mask` loads a PNG as an array (palette indices stay indices),
:func:`binary_foreground` turns a binary or soft mask into foreground pixels, and
:func:`split_indexed` turns an indexed (or colour) mask into one array per class (with a
:class:`~keepsight.formats.mask_folder._class_map.ClassMap`). Writing: :func:`rasterise`
draws any area geometry and :func:`save_png` writes a mask PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keepsight.errors import AnnotationError, DatasetError, ImageError
from keepsight.formats.base import ReadContext
from keepsight.formats.mask_folder._class_map import ClassMap, Colour
from keepsight.model.convert import array_to_mask, polygon_to_mask, rotated_box_to_polygon
from keepsight.model.geometry import Box, Geometry, Mask, Polygon, RotatedBox

DEFAULT_THRESHOLD = 128
VOC_VOID = 255  # VOC's "void" outline index in palette masks: ignored unless the class map names it


def mask_threshold(ctx: ReadContext) -> int:
    """The ``mask_threshold`` option: a soft-mask pixel is foreground when ``value >= threshold``."""
    value = ctx.option("mask_threshold", DEFAULT_THRESHOLD)
    try:
        threshold = int(value)
    except (TypeError, ValueError):
        raise DatasetError(f"option mask_threshold must be an integer in 1..255, got {value!r}") from None
    if not 1 <= threshold <= 255:
        raise DatasetError(f"option mask_threshold must be an integer in 1..255, got {threshold}")
    return threshold


def read_mask(path: Path) -> tuple[np.ndarray, str]:
    """The mask's pixels and PIL mode; palette (``P``) masks keep their indices."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            mode = img.mode
            pixels: Image.Image = img
            if mode == "1":
                pixels = img.convert("L")
            elif mode in {"LA", "PA"}:
                pixels = img.getchannel(0)
            elif mode not in {"L", "P", "RGB"} and not mode.startswith("I"):
                pixels = img.convert("RGB")
            array = np.asarray(pixels)
    except FileNotFoundError:
        raise ImageError("mask file is missing", path=path) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"cannot read mask: {exc}", path=path) from None
    return array, mode


def _single_channel(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        return array
    if (array[..., 0] == array[..., 1]).all() and (array[..., 0] == array[..., 2]).all():
        return array[..., 0]  # a grey mask saved as RGB
    raise AnnotationError("colour mask without a class map with colours (labelmap.txt or labelmap.csv)", path=path)


def binary_foreground(array: np.ndarray, mode: str, threshold: int, path: Path) -> np.ndarray:
    """Foreground pixels of a binary or soft mask.

    A mask whose values are all 0 or 1 is a 0/1 mask; otherwise a pixel is foreground when
    ``value >= threshold`` (on the 0..255 scale, so soft, anti-aliased edges are cut at the
    threshold). A palette mask with one non-zero index is binary; with several it needs a
    class map, since the indices are classes.
    """
    gray = _single_channel(array, path)
    if gray.size == 0:
        return np.zeros(gray.shape, dtype=bool)
    high = int(gray.max())
    if high <= 1 or mode == "P":
        values = np.unique(gray)
        if mode == "P" and np.count_nonzero(values) > 1:
            raise AnnotationError(
                f"palette mask holds several class indices {values[values > 0].tolist()} but no class map "
                "(classes.txt, labelmap.txt, or the class_map option) names them",
                path=path,
            )
        return gray > 0
    if gray.dtype != np.uint8 and high > 255:
        return gray >= threshold * 257  # 16-bit grey: same threshold on the 0..65535 scale
    return gray >= threshold


def split_indexed(array: np.ndarray, mode: str, class_map: ClassMap, path: Path) -> dict[str, np.ndarray]:
    """One boolean array per class present in an indexed (or colour) mask, background excluded."""
    if array.ndim == 3:
        index = _colours_to_index(array, class_map, path)
    else:
        index = array.astype(np.int64)
    values = [int(v) for v in np.unique(index)]
    unknown = [v for v in values if v != 0 and v not in class_map.names and not (v == VOC_VOID and mode == "P")]
    if unknown:
        raise AnnotationError(
            f"mask values {unknown} are not in the class map ({class_map.source}: {sorted(class_map.names)})",
            path=path,
        )
    out: dict[str, np.ndarray] = {}
    for value in values:
        name = class_map.names.get(value)
        if value == 0 or name is None:
            continue
        pixels = index == value
        out[name] = out[name] | pixels if name in out else pixels
    return out


def _colours_to_index(array: np.ndarray, class_map: ClassMap, path: Path) -> np.ndarray:
    if not class_map.colours:
        return _single_channel(array, path).astype(np.int64)
    rgb = array[..., :3].astype(np.int64)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    uniques, inverse = np.unique(codes, return_inverse=True)
    table = np.zeros(len(uniques), dtype=np.int64)
    unknown: list[Colour] = []
    for i, code in enumerate(uniques.tolist()):
        colour = (code >> 16 & 255, code >> 8 & 255, code & 255)
        index = class_map.colours.get(colour, 0 if colour == (0, 0, 0) else None)
        if index is None:
            unknown.append(colour)
        else:
            table[i] = index
    if unknown:
        raise AnnotationError(f"mask colours {unknown[:5]} are not in the class map ({class_map.source})", path=path)
    return table[inverse].reshape(codes.shape)


def to_mask(pixels: np.ndarray) -> Mask | None:
    """A Mask geometry, or None when nothing is foreground (an all-background mask)."""
    return array_to_mask(pixels) if pixels.any() else None


def rasterise(geometry: Geometry, height: int, width: int) -> np.ndarray | None:
    """The pixels of an area geometry (mask, box, rotated box, polygon); None for the others."""
    if isinstance(geometry, Mask):
        if (geometry.height, geometry.width) != (height, width):
            raise AnnotationError(f"mask is {geometry.width}x{geometry.height}, the image {width}x{height}")
        return geometry.decode()
    if isinstance(geometry, Box):
        x1, y1, x2, y2 = geometry.bounds()
        polygon = Polygon(((x1, y1), (x2, y1), (x2, y2), (x1, y2)))
    elif isinstance(geometry, RotatedBox):
        polygon = rotated_box_to_polygon(geometry)
    elif isinstance(geometry, Polygon):
        polygon = geometry
    else:
        return None
    return polygon_to_mask(polygon, height, width).decode()


def save_png(array: np.ndarray, path: Path, palette: list[int] | None = None) -> None:
    """Write a mask PNG: 8-bit grey, 8-bit palette (``palette`` given) or 16-bit grey."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if array.dtype == np.uint16:
        Image.fromarray(array).save(path)
        return
    img = Image.fromarray(array.astype(np.uint8))
    if palette is not None:
        img.putpalette(palette)  # an "L" image becomes "P" with the same indices
    img.save(path)
