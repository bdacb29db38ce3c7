"""image.markings on binarised (PCB-like) images: white or black pens found where they break the
layout's Manhattan geometry (drawn rings, arrows at an angle, rectangles), silence on the layout."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from keepsight.checks.image._markings_shapes import find_markings
from tests.audit.plant_edits import Box, overlaps


def _layout(seed: int, size: int = 640) -> np.ndarray:
    """A binarised PCB-like scan: white board, black traces at 0/45/90 degrees with chamfered
    turns, round pads with drilled holes, a small serpentine; JPEG-saved like the DeepPCB scans."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 255, np.uint8)
    for _ in range(14):
        x, y = (int(v) for v in rng.integers(20, size - 20, 2))
        width = int(rng.integers(5, 12))
        points = [(x, y)]
        for _ in range(4):
            angle = math.radians(45 * int(rng.integers(0, 8)))
            step = int(rng.integers(40, 200))
            nx, ny = round(x + step * math.cos(angle)), round(y + step * math.sin(angle))
            if 10 <= nx < size - 10 and 10 <= ny < size - 10:  # no clipping: it would bend the angle
                x, y = nx, ny
                points.append((x, y))
        cv2.polylines(img, [np.array(points, np.int32)], False, 0, width)
        for px, py in (points[0], points[-1]):
            radius = int(rng.choice([9, 12, 15]))
            cv2.circle(img, (px, py), radius, 0, -1)
            cv2.circle(img, (px, py), radius // 3, 255, -1)
    for k in range(6):  # serpentine: tight bends of a few pixels' radius
        cv2.ellipse(img, (100 + 16 * k, 560), (8, 8), 0, 180 * (k % 2), 180 * (k % 2) + 180, 0, 4)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def _resave(img: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def _hit(img: np.ndarray, truth: Box) -> bool:
    return any(overlaps(m.box, truth) for m in find_markings(img))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_layout_alone_is_silent(seed: int) -> None:
    assert find_markings(_layout(seed)) == []


@pytest.mark.parametrize("pen", [0, 255])
def test_ring_drawn_on_binary_layout_is_found(pen: int) -> None:
    img = _layout(0)
    if pen == 255:  # a white pen shows on copper: a black pour under the ring
        cv2.rectangle(img, (150, 120), (470, 420), 0, -1)
    cv2.ellipse(img, (310, 270), (120, 90), 20, 0, 360, pen, 3, cv2.LINE_AA)
    marked = _resave(img)
    assert _hit(marked, (190, 180, 431, 361)), find_markings(marked)


def test_arrow_at_an_angle_on_binary_layout_is_found() -> None:
    img = _layout(1)
    cv2.arrowedLine(img, (120, 480), (330, 380), 0, 3, cv2.LINE_8, tipLength=0.25)  # 25 degrees
    assert _hit(_resave(img), (120, 360, 331, 481))


def test_rectangle_on_binary_layout_is_found() -> None:
    img = _layout(2)
    cv2.rectangle(img, (200, 150), (420, 330), 0, 3)
    assert _hit(_resave(img), (198, 148, 423, 333))


def test_ring_across_traces_is_found_as_one_ellipse() -> None:
    """A black ring over a bus of black traces shows only in the gaps between them: its arcs are
    too far apart to group, but they lie on one ellipse."""
    img = np.full((640, 640), 255, np.uint8)
    for y in range(40, 600, 36):  # a bus of 20 px traces with 16 px gaps
        cv2.line(img, (0, y), (639, y), 0, 20)
    cv2.ellipse(img, (320, 300), (150, 110), 30, 0, 360, 0, 3)
    found = [m for m in find_markings(_resave(img)) if overlaps(m.box, (170, 190, 471, 411))]
    assert any(m.measures.get("cover", 0) > 0 for m in found), found


@pytest.mark.parametrize("angle", [0, 45, 90, 135])
def test_arrow_along_the_layout_directions_is_found_by_its_tip(angle: int) -> None:
    """An arrow at 0/45/90 degrees has a Manhattan head too (+-45 degrees): only its tip tells."""
    img = np.full((640, 640), 255, np.uint8)
    for x in (40, 600):  # traces away from the arrow
        cv2.line(img, (x, 0), (x, 639), 0, 8)
    dx, dy = round(150 * math.cos(math.radians(angle))), round(150 * math.sin(math.radians(angle)))
    start, end = (320 - dx // 2, 320 - dy // 2), (320 + dx // 2, 320 + dy // 2)
    cv2.arrowedLine(img, start, end, 0, 3, cv2.LINE_AA, tipLength=0.3)
    found = [m for m in find_markings(_resave(img)) if overlaps(m.box, (end[0] - 10, end[1] - 10, end[0] + 10, end[1] + 10))]
    assert found, find_markings(_resave(img))
