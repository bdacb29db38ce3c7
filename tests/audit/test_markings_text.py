"""image.markings on binarised (PCB-like) scans: words written in the layout's own black or white."""

from __future__ import annotations

import cv2
import numpy as np

from keepsight.checks.image._markings_binary import edge_chains
from keepsight.checks.image._markings_shapes import find_markings
from keepsight.checks.image._markings_text import binary_text
from tests.audit.plant_edits import overlaps


def _board(*, vias: bool = True) -> np.ndarray:
    """A 640 px binarised board: white, black Manhattan traces with 45-degree jogs, a pour,
    and (``vias``) a row of identical ring pads of letter size."""
    img = np.full((640, 640), 255, np.uint8)
    for y in (60, 110, 160):
        cv2.line(img, (40, y), (600, y), 0, 9)
    cv2.line(img, (80, 200), (80, 420), 0, 9)
    cv2.line(img, (80, 420), (140, 480), 0, 9)
    cv2.line(img, (140, 480), (600, 480), 0, 9)
    cv2.rectangle(img, (420, 540), (620, 620), 0, -1)
    if vias:
        for x in range(120, 560, 50):
            cv2.circle(img, (x, 330), 16, 0, -1)
            cv2.circle(img, (x, 330), 8, 255, -1)
    return img


def _write(img: np.ndarray, word: str, origin: tuple[int, int]) -> tuple[int, int, int, int]:
    """Bold black text about 45 px tall, as an annotator's tool writes it; returns its box."""
    layer = np.zeros_like(img)
    cv2.putText(layer, word, origin, cv2.FONT_HERSHEY_SIMPLEX, 1.6, 255, 5, cv2.LINE_8)
    img[layer > 0] = 0
    ys, xs = np.nonzero(layer)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_word_on_a_binarised_board_is_found_as_text() -> None:
    img = _board()
    truth = _write(img, "crack", (220, 420))
    marks = find_markings(img)
    assert any(m.kind == "text" and m.colour == "black" and overlaps(m.box, truth) for m in marks), marks


def _words(gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], str, int]]:
    return binary_text(gray, edge_chains(gray).off)


def test_the_same_board_without_a_word_is_silent() -> None:
    assert _words(_board()) == []
    assert find_markings(_board()) == []


def test_a_row_of_identical_pads_is_no_word() -> None:
    """Ring pads are letter-sized, curved, of one pen and in a row, but copies of each other."""
    img = _board(vias=False)
    for x in range(120, 560, 45):
        cv2.circle(img, (x, 330), 18, 0, -1)
        cv2.ellipse(img, (x, 330), (7, 11), 0, 0, 360, 255, -1)
    assert _words(img) == []
