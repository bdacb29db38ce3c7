"""image.markings on a 1-px white pen saved as JPEG: the pen keeps its pure white on only part
of its pixels, which the constancy ramp must tolerate."""

from __future__ import annotations

import cv2
import numpy as np

from keepsight.checks.image._markings_shapes import find_markings
from tests.audit.plant_edits import draw_mark, overlaps
from tests.audit.test_learned_pixels import texture


def test_one_pixel_antialiased_ring_saved_as_jpeg_is_found() -> None:
    marked, edit = draw_mark(texture(2), "circle", np.random.default_rng(2), colour="gray", thickness=1)
    assert edit.colour == "white" and edit.details["antialiased"]  # the case this test is about
    ok, data = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    found = find_markings(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))
    assert any(overlaps(m.box, edit.box) for m in found), (edit, found)
