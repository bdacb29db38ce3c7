from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepsight.errors import AnnotationError
from keepsight.model import Annotation, Box, Mask, Polygon, Polyline, RotatedBox, Tag, geometry_from_json
from keepsight.model.convert import (
    array_to_mask,
    cxcywhn_to_xyxy,
    mask_to_polygons,
    polygon_to_mask,
    quad_to_rotated_box,
    uncompressed_rle_to_mask,
    xyxy_to_cxcywhn,
)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Box(0, 0, float("nan"), 3), "NaN"),
        (lambda: Box(5, 0, 1, 3), "x2 < x1"),
        (lambda: RotatedBox(1, 1, -2, 3, 0), "negative size"),
        (lambda: Polygon([(0, 0), (1, 1)]), "at least 3"),
        (lambda: Polyline([(0, 0)]), "at least 2"),
        (lambda: Polygon([(0, 0), (1, float("inf")), (2, 2)]), "NaN or infinite"),
        (lambda: Mask(0, 5, ""), "empty size"),
        (lambda: Annotation(label="", geometry=Tag()), "class name"),
    ],
)
def test_invalid_geometry_is_refused_with_a_reason(factory, message) -> None:
    with pytest.raises(AnnotationError, match=message):
        factory()


def test_rotated_box_corners_follow_the_documented_convention() -> None:
    # 90 degrees clockwise on screen: the local +x axis (the head) points down (+y).
    box = RotatedBox(10, 10, 4, 2, 90)
    corners = box.corners()
    np.testing.assert_allclose(corners[0], [11, 8], atol=1e-9)  # top-left of the unrotated box
    np.testing.assert_allclose(corners[1], [11, 12], atol=1e-9)
    assert RotatedBox(0, 0, 1, 1, -90).angle == 270
    assert RotatedBox(0, 0, 1, 1, 720).angle == 0


@settings(max_examples=60, deadline=None)
@given(
    cx=st.floats(-500, 500), cy=st.floats(-500, 500), w=st.floats(1, 200), h=st.floats(1, 200),
    angle=st.floats(0, 359.99),
)
def test_quad_round_trip_keeps_the_heading(cx, cy, w, h, angle) -> None:
    box = RotatedBox(cx, cy, w, h, angle)
    back = quad_to_rotated_box(box.corners())
    np.testing.assert_allclose([back.cx, back.cy, back.w, back.h], [cx, cy, w, h], atol=1e-6)
    assert abs((back.angle - box.angle + 180) % 360 - 180) < 1e-6


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 4000), st.data())
def test_yolo_normalised_box_round_trip(width, height, data) -> None:
    x1 = data.draw(st.floats(0, width - 1))
    y1 = data.draw(st.floats(0, height - 1))
    x2 = data.draw(st.floats(x1, width))
    y2 = data.draw(st.floats(y1, height))
    back = cxcywhn_to_xyxy(*xyxy_to_cxcywhn(Box(x1, y1, x2, y2), width, height), width, height)
    np.testing.assert_allclose(back.to_json(), [x1, y1, x2, y2], atol=1e-6)


def test_mask_round_trips_through_rle_and_polygons() -> None:
    arr = np.zeros((20, 30), dtype=bool)
    arr[5:12, 4:20] = True
    mask = array_to_mask(arr)
    assert mask.area() == 7 * 16
    np.testing.assert_array_equal(mask.decode(), arr)
    assert mask.bounds() == (4.0, 5.0, 20.0, 12.0)
    again = geometry_from_json("mask", mask.to_json())
    assert again == mask
    (poly,) = mask_to_polygons(mask)
    raster = polygon_to_mask(poly, 20, 30)
    assert abs(raster.area() - mask.area()) <= 30  # contour vertices sit on pixel centres


def test_uncompressed_rle_is_checked_against_the_image_size() -> None:
    mask = uncompressed_rle_to_mask([2, 3, 1], 2, 3)
    assert mask.area() == 3
    with pytest.raises(AnnotationError, match="covers 5 pixels"):
        uncompressed_rle_to_mask([2, 3], 2, 3)


def test_geometry_json_round_trip_for_every_kind() -> None:
    for geometry in [Box(1, 2, 3, 4), RotatedBox(5, 5, 2, 1, 30), Polygon([(0, 0), (4, 0), (4, 4)]),
                     Polyline([(0, 0), (3, 3)]), Tag()]:
        assert geometry_from_json(geometry.kind, geometry.to_json()) == geometry
    with pytest.raises(AnnotationError, match="unknown annotation kind"):
        geometry_from_json("ellipse", [1, 2])
    assert math.isclose(RotatedBox(0, 0, 1, 1, 359.9999999999).angle % 360, 359.9999999999)
