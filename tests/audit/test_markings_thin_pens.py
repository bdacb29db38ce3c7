"""image.markings on a 1-px white pen saved as JPEG: the pen keeps its pure white on only part
of its pixels, which the constancy ramp must tolerate."""

from __future__ import annotations

import cv2
import numpy as np

from keepsight.checks.image._markings_shapes import BORDER_DEPTH, across_factor, find_markings
from tests.audit.plant_edits import draw_mark, overlaps
from tests.audit.test_learned_pixels import texture


def test_one_pixel_antialiased_ring_saved_as_jpeg_is_found() -> None:
    marked, edit = draw_mark(texture(2), "circle", np.random.default_rng(2), colour="gray", thickness=1)
    assert edit.colour == "white" and edit.details["antialiased"]  # the case this test is about
    ok, data = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    found = find_markings(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))
    assert any(overlaps(m.box, edit.box) for m in found), (edit, found)


def test_a_stroke_hugging_a_border_is_the_images_own_edge_up_to_the_border_depth() -> None:
    """A tile's dark edge runs along a border 11-15 % of the image deep (magnetic-tile crops); a mark
    is drawn inside the image, or is deeper than long where it touches a border."""
    shape = (284, 129)  # h, w of a magnetic-tile crop whose left edge was taken for text
    assert across_factor((0, 74, 14, 284 - 20), shape) == 0.0  # 11 % deep, along the left border
    assert across_factor((0, 32, int(BORDER_DEPTH * 129), 250), shape) == 0.0  # at the limit
    assert across_factor((20, 74, 34, 264), shape) == 1.0  # the same stroke inside the image
    assert across_factor((0, 74, int(BORDER_DEPTH * 129) + 3, 264), shape) == 1.0  # deeper than the limit
    assert across_factor((0, 100, 14, 120), shape) == 1.0  # at the border, but not along it
    assert across_factor((30, 284 - 12, 120, 284), shape) == 0.0  # along the bottom border
