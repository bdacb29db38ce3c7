"""image.retouched on binarised PCB scans: coloured pen strokes are no copy.

Real DeepPCB scans from ../shared/data (skipped when absent); the block-level straight-edge
measure is checked against the pairwise one it replaces.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.checks.image._retouch_clone import BLOCK, shift_change
from keepsight.checks.image._retouch_find import find_retouching
from tests.audit.plant_edits import draw_mark

PCB = "deeppcb/PCBData/group20085/20085/{}_test.jpg"


def _scan(shared_data: Path, name: str) -> np.ndarray:
    path = shared_data / PCB.format(name)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_shift_change_is_each_blocks_difference_from_the_moved_block() -> None:
    gray = np.random.default_rng(0).integers(0, 256, (40, 50), dtype=np.uint8)
    ww = gray.shape[1] - BLOCK + 1
    for dy, dx in ((4, 0), (0, 4), (3, 2)):
        change = shift_change(gray, dy, dx)
        for y, x in ((0, 0), (5, 17), (40 - BLOCK - dy, 50 - BLOCK - dx)):
            block = gray[y:y + BLOCK, x:x + BLOCK].astype(np.float32)
            moved = gray[y + dy:y + dy + BLOCK, x + dx:x + dx + BLOCK].astype(np.float32)
            assert change[y * ww + x] == pytest.approx(float(np.abs(block - moved).mean()), abs=1e-3)
        assert change[(40 - BLOCK) * ww + 50 - BLOCK] == -1.0  # the last block moved out of the image


@pytest.mark.parametrize("seed", range(5))
def test_coloured_pen_text_on_a_scan_is_not_a_copy(shared_data: Path, seed: int) -> None:
    # a text's letters repeat pixel for pixel; on a binarised scan they matched as a clone-stamp
    marked, _ = draw_mark(_scan(shared_data, "20085000"), "text", np.random.default_rng(seed), colour="red")
    assert [r.box for r in find_retouching(marked) if r.kind == "clone"] == []

