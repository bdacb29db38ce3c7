"""Helpers shared by the line-per-object text formats: YOLO and DOTA (which imports them from here)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from keepsight.errors import AnnotationError, ParseError
from keepsight.model.annotation import Sample, Split, normalize_split
from keepsight.model.convert import mask_to_polygons, quad_to_rotated_box
from keepsight.model.geometry import Box, Geometry, Mask, RotatedBox

SPLIT_FOLDERS = frozenset({"train", "training", "val", "valid", "validation", "test", "testing"})


def folder_split(name: str) -> Split | None:
    """The split a folder name stands for (``valid`` -> val), or None for any other name."""
    return normalize_split(name) if name.lower() in SPLIT_FOLDERS else None


def read_lines(path: Path) -> list[str]:
    """The lines of a small text file; ParseError when it is not text."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ParseError(f"not a UTF-8 text file: {exc.reason} at byte {exc.start}", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", path=path) from None


def number(token: str) -> float:
    """One coordinate: ParseError when it is not a number, AnnotationError when NaN or infinite."""
    try:
        value = float(token)
    except ValueError:
        raise ParseError(f"{token!r} is not a number") from None
    if not math.isfinite(value):
        raise AnnotationError(f"coordinate {token!r} is NaN or infinite")
    return value


def fmt(value: float, decimals: int) -> str:
    """A coordinate with at most ``decimals`` decimals and no trailing zeros."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def export_name(sample: Sample, used: set[str]) -> str:
    """The image's file name in a flat export folder, prefixed with the sample id when its stem is taken.

    Stems must be unique, not just names: ``a.png`` and ``a.jpg`` would share the label file ``a.txt``.
    """
    name = Path(sample.path).name
    if Path(name).stem.lower() in used:
        name = f"{sample.id}_{name}"
    used.add(Path(name).stem.lower())
    return name


def enclosing_rotated_box(geometry: Geometry) -> RotatedBox | None:
    """The minimum-area rotated rectangle around a polygon, polyline, points or mask (None if empty)."""
    import cv2

    if isinstance(geometry, Mask):
        polygons = mask_to_polygons(geometry)
        if not polygons:
            return None
        points = np.concatenate([p.array() for p in polygons])
    else:
        points = np.asarray(geometry.points, dtype=np.float64)  # type: ignore[union-attr]
    rect = cv2.minAreaRect(points.astype(np.float32))
    return quad_to_rotated_box(cv2.boxPoints(rect))


def box_corners(box: Box) -> np.ndarray:
    """An axis-aligned box as the 4 corners of a rotated box at angle 0 (keepsight corner order)."""
    return np.array([(box.x1, box.y1), (box.x2, box.y1), (box.x2, box.y2), (box.x1, box.y2)], dtype=np.float64)
