"""One DOTA labelTxt line <-> a rotated box in absolute pixels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keepsight.errors import ParseError
from keepsight.formats._common.text import fmt, number
from keepsight.model.convert import quad_to_rotated_box
from keepsight.model.geometry import RotatedBox

DECIMALS = 6  # thin boxes need precise corners: a heading error grows the short side by the long one
HEADER_KEYS = ("imagesource", "gsd")


def parse_header(line: str) -> tuple[str, object] | None:
    """``imagesource:GoogleEarth`` / ``gsd:0.146`` -> (key, value); None for an object line."""
    key, sep, value = line.strip().partition(":")
    if not sep or not key.isidentifier():
        return None
    value = value.strip()
    if key == "gsd":
        try:
            return key, float(value)
        except ValueError:
            return key, None  # DOTA v1.5 writes gsd:null when the resolution is unknown
    return key, value


def parse_object(tokens: Sequence[str]) -> tuple[RotatedBox, str, bool]:
    """``x1 y1 x2 y2 x3 y3 x4 y4 category [difficult]`` -> (box, category, difficult)."""
    if len(tokens) < 9:
        raise ParseError(f"expected 'x1 y1 x2 y2 x3 y3 x4 y4 category difficult', got {len(tokens)} fields")
    corners = np.asarray([number(t) for t in tokens[:8]]).reshape(4, 2)
    rest = list(tokens[8:])
    difficult = False
    if len(rest) > 1 and rest[-1] in ("0", "1"):
        difficult = rest.pop() == "1"
    return quad_to_rotated_box(corners), " ".join(rest), difficult


def object_line(corners: np.ndarray, category: str, difficult: bool) -> str:
    coords = (fmt(float(v), DECIMALS) for v in np.asarray(corners, dtype=np.float64).ravel())
    return " ".join([*coords, category, "1" if difficult else "0"])


def header_lines(metadata: dict[str, object]) -> list[str]:
    return [f"{key}:{'null' if metadata[key] is None else metadata[key]}" for key in HEADER_KEYS if key in metadata]
