"""image.retouched on binarised PCB scans and JPEG photos: coloured pen strokes are no copy; healed
patches found by the gray they smear over a scan and by the JPEG block grid they lack; a clone of
blank board stamped over a scan found as an exact solid square; faint copies re-saved as JPEG
matched through the coarse table for faint blocks; a heal in a capture's own muted colour found (a
pen-coloured disc not); a JPEG-85 copy of strong texture differing by 4-5 gray levels found; a heal
on a quality-75 JPEG saved again at 90-95 found off the first compression's comb (an image compressed
once has none); in a small image a JPEG-85 copy needs fewer matched blocks; a heal leaving a 65-80 px
island found, such small islands counting at native resolution only.

Real DeepPCB scans and a BSData frame from ../shared/data (skipped when absent); the block-level
straight-edge measure is checked against the pairwise one it replaces.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.checks.image._retouch_clone import BLOCK, find_clones, shift_change
from keepsight.checks.image._retouch_find import find_retouching, smooth_score
from keepsight.checks.image._retouch_grid import (
    block_steps,
    find_flat_squares,
    find_gridless,
    find_requantised,
    find_shading,
)
from keepsight.checks.image._retouch_noise import SmoothIsland
from tests.audit.plant_edits import draw_mark, overlaps

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
            block = gray[y : y + BLOCK, x : x + BLOCK].astype(np.float32)
            moved = gray[y + dy : y + dy + BLOCK, x + dx : x + dx + BLOCK].astype(np.float32)
            assert change[y * ww + x] == pytest.approx(float(np.abs(block - moved).mean()), abs=1e-3)
        assert change[(40 - BLOCK) * ww + 50 - BLOCK] == -1.0  # the last block moved out of the image


@pytest.mark.parametrize("seed", range(5))
def test_coloured_pen_text_on_a_scan_is_not_a_copy(shared_data: Path, seed: int) -> None:
    # a text's letters repeat pixel for pixel; on a binarised scan they matched as a clone-stamp
    marked, _ = draw_mark(_scan(shared_data, "20085000"), "text", np.random.default_rng(seed), colour="red")
    assert [r.box for r in find_retouching(marked) if r.kind == "clone"] == []


BSDATA = "bsdata/data/01_200828110014_277500_315_crop_2.jpg"  # a 1130 x 460 frame stored as JPEG quality 75


def _encoded(image: np.ndarray, ext: str) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(ext, image)[1], cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize("centre", [(200, 150), (400, 300), (900, 350)])
def test_healing_a_jpeg_photo_leaves_a_patch_without_its_block_grid(shared_data: Path, centre: tuple[int, int]) -> None:
    """Inpainted pixels are smooth across the 8x8 boundaries where the rest of the frame steps. Saved
    as PNG; a JPEG re-save at quality 90 or less puts much of the grid back (docs/checks_learned.md)."""
    path = shared_data / BSDATA
    if not path.exists():
        pytest.skip(f"{path} is absent")
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert [r for r in find_retouching(frame) if r.kind == "gridless"] == []  # the capture itself
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.ellipse(mask, centre, (35, 30), 0, 0, 360, 255, -1)
    healed = _encoded(cv2.inpaint(frame, mask, 3, cv2.INPAINT_TELEA), ".png")
    truth = (centre[0] - 35, centre[1] - 30, centre[0] + 36, centre[1] + 31)
    assert any(r.kind == "gridless" and overlaps(r.box, truth) for r in find_retouching(healed))


def test_gridless_patches_need_an_image_with_a_grid() -> None:
    """A capture never stored as JPEG (or at a quality that leaves no grid) is smooth everywhere: skipped."""
    rng = np.random.default_rng(0)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (480, 960)).astype(np.float32), (0, 0), 30)
    smooth = np.clip(128 + 50 * coarse / coarse.std() + rng.normal(0, 0.8, coarse.shape), 0, 255).astype(np.uint8)
    assert find_gridless(smooth) == []
    jump, inner = block_steps(smooth)
    assert jump.shape == inner.shape == ((480 - 2) // 8, (960 - 2) // 8)


def test_block_steps_see_the_grid_of_flat_blocks_and_not_a_ramp() -> None:
    ramp = np.tile(np.arange(64, dtype=np.float32) * 2.0, (64, 1))  # a smooth gradient: every step 2
    blocks = np.repeat(np.repeat(np.arange(64, dtype=np.float32).reshape(8, 8) * 3.0, 8, axis=0), 8, axis=1)
    jump, inner = block_steps(ramp.astype(np.uint8))
    assert np.allclose(jump, 0.0) and np.allclose(inner, 1.0)  # 2 across columns, 0 down rows
    jump, inner = block_steps(blocks.astype(np.uint8))  # flat 8x8 blocks, 3 apart across and 24 down
    assert np.allclose(jump, (3.0 + 24.0) / 2) and np.allclose(inner, 0.0)
    edged = ramp.copy()
    edged[9:] += 100.0  # a strong edge one pixel beyond the first row of blocks' bottom boundary
    jump, _ = block_steps(edged.astype(np.uint8))
    assert np.allclose(jump[0], 0.0)  # compared with the block's own pixels only: no negative jump


@pytest.mark.parametrize("ext", [".png", ".jpg"])
@pytest.mark.parametrize("centre", [(200, 500), (450, 450)])
def test_healing_a_scan_leaves_gray_away_from_its_edges(shared_data: Path, centre: tuple[int, int], ext: str) -> None:
    scan = _scan(shared_data, "20085000")
    assert all(p.area < 20 for p in find_shading(scan))  # its gray lies along its edges
    assert [r for r in find_retouching(scan) if r.kind == "shaded"] == []
    mask = np.zeros(scan.shape[:2], np.uint8)
    cv2.circle(mask, centre, 25, 255, -1)
    healed = _encoded(cv2.inpaint(scan, mask, 3, cv2.INPAINT_NS), ext)
    truth = (centre[0] - 25, centre[1] - 25, centre[0] + 26, centre[1] + 26)
    assert any(r.kind == "shaded" and overlaps(r.box, truth) for r in find_retouching(healed))


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_a_square_of_blank_board_stamped_on_a_scan_is_found_and_a_drawn_box_is_not(shared_data: Path, ext: str) -> None:
    """A clone-stamp whose source is blank board leaves a solid square of one colour: nothing to
    match, but scans have no such squares (their pads are discs, rectangles, squares with holes)."""
    scan = _scan(shared_data, "20085000")
    assert find_flat_squares(scan) == [] and [r for r in find_retouching(scan) if r.kind == "pasted"] == []
    dark = scan < 128
    for side in (70, 90):  # a place of one colour wide enough for the square and its surroundings
        ys, xs = np.nonzero(cv2.erode(dark.astype(np.uint8), np.ones((side + 20, side + 20), np.uint8)))
        if len(ys):
            break
    assert len(ys), "the scan has a wide dark area"
    y, x = int(ys[len(ys) // 2]) - side // 2, int(xs[len(xs) // 2]) - side // 2
    stamped = scan.copy()
    stamped[y : y + side, x : x + side] = 255
    found = [r.box for r in find_retouching(_encoded(stamped, ext)) if r.kind == "pasted"]
    assert any(overlaps(box, (x, y, x + side, y + side)) for box in found)
    disc = scan.copy()  # a disc is what a round pad looks like: not evidence
    cv2.circle(disc, (x + side // 2, y + side // 2), side // 2, 255, -1)
    assert find_flat_squares(_encoded(disc, ext)) == []
    boxed = scan.copy()  # a drawn box's inside is a solid rectangle, with the box's far side of its own colour
    cv2.rectangle(boxed, (x, y), (x + side, y + side), 255, 3)
    assert find_flat_squares(_encoded(boxed, ext)) == []


def _jpeg(image: np.ndarray, quality: int = 85) -> np.ndarray:
    """Saved as JPEG at ``quality`` and decoded back."""
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_UNCHANGED)


def _copy_saved_at_85(
    seed: int,
    shape: tuple[int, int],
    blur: float,
    level: float,
    contrast: float,
    *,
    source: tuple[int, int],
    target: tuple[int, int],
    side: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(a generated texture, the texture with a ``side``-px square copied from ``source`` to ``target``
    (row, column) and saved as JPEG 85)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), blur)
    texture = np.clip(level + contrast * noise / noise.std(), 0, 255).astype(np.uint8)
    copied = texture.copy()
    (sy, sx), (ty, tx) = source, target
    copied[ty : ty + side, tx : tx + side] = texture[sy : sy + side, sx : sx + side]
    return texture, _jpeg(copied)


@pytest.mark.parametrize("seed", range(3))
def test_faint_blocks_of_a_jpeg_saved_copy_meet_in_the_coarse_table(seed: int) -> None:
    """On faint texture (block std about 2.5) a JPEG re-save's 1-2 gray levels scatter the copy's
    blocks over the fine hash steps; the coarse table for faint blocks finds many more of them."""
    texture, saved = _copy_saved_at_85(seed, (300, 400), 1.2, 120, 2.5, source=(40, 60), target=(180, 250), side=68)
    fine = [c.unique for c in find_clones(saved, min_unique=10) if c.offset == (190, 140)]
    both = [c.unique for c in find_clones(saved, min_unique=10, faint=3.0) if c.offset == (190, 140)]
    assert both and both[0] >= 1.5 * max(fine, default=0.0)
    assert [r for r in find_retouching(_jpeg(texture)) if r.kind == "clone"] == []
    assert any(r.kind == "clone" and overlaps(r.box, (250, 180, 318, 248)) for r in find_retouching(saved))


def _brass(seed: int) -> np.ndarray:
    """A noisy capture in muted colour (BSData's brass: channel spread about 57 everywhere)."""
    rng = np.random.default_rng(seed)
    g = 128 + 10 * cv2.GaussianBlur(rng.normal(0, 1, (240, 320)).astype(np.float32), (0, 0), 0.8) / 0.35
    return np.clip(np.dstack([0.55 * g, 0.8 * g, g]), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(3))
def test_a_heal_in_the_captures_own_colour_is_found_and_a_pen_disc_is_not(seed: int) -> None:
    """Inpainting over brass leaves a brass island (channel spread over 40, the fixed limit before):
    only islands more colourful than 9 in 10 of the image's pixels are left out as pen or object."""
    brass = _brass(seed)
    mask = np.zeros(brass.shape[:2], np.uint8)
    cv2.ellipse(mask, (160, 120), (22, 14), 30, 0, 360, 255, -1)
    healed = cv2.inpaint(brass, mask, 3, cv2.INPAINT_TELEA)
    spread = healed.max(axis=2).astype(float) - healed.min(axis=2)
    assert spread[mask > 0].mean() > 40.0
    assert any(r.kind == "smooth" and overlaps(r.box, (138, 106, 183, 135)) for r in find_retouching(healed))
    assert find_retouching(brass) == []
    pen = brass.copy()  # a filled magenta disc: smooth in gray (found there), a pen's colour in colour
    cv2.circle(pen, (160, 120), 14, (255, 0, 255), -1)
    pen = cv2.GaussianBlur(pen, (0, 0), 0.6)
    assert any(r.kind == "smooth" for r in find_retouching(cv2.cvtColor(pen, cv2.COLOR_BGR2GRAY)))
    assert find_retouching(pen) == []


@pytest.mark.parametrize("seed", range(2))
def test_a_jpeg_85_copy_of_strong_texture_differing_by_over_4_levels_is_found(seed: int) -> None:
    """A JPEG-85 re-save moves a small copy of strong texture 4-5 gray levels off its source (over the
    4 a binarised scan's blocks may differ): on a capture the blocks may differ by up to 5."""
    texture, saved = _copy_saved_at_85(seed, (220, 260), 0.8, 128, 27, source=(30, 40), target=(150, 190), side=24)
    found = [r for r in find_retouching(saved) if r.kind == "clone" and overlaps(r.box, (190, 150, 214, 174))]
    assert found and found[0].measures["mean_difference"] > 4.0
    assert find_retouching(_jpeg(texture)) == []


@pytest.mark.parametrize("seed", range(3))
def test_a_jpeg_85_copy_in_a_small_image_needs_fewer_matched_blocks(seed: int) -> None:
    """A 16-px copy of strong texture in a 200 x 200 image, saved as JPEG 85: 54-68 matched blocks
    differing by 4.3-4.6 gray levels. A 640 x 640 image's chance matches would need about 75 such
    blocks; a small image's blocks have a tenth of the partners, so the surcharge for the difference
    shrinks with the area and the copy is found."""
    texture, saved = _copy_saved_at_85(seed, (200, 200), 0.8, 128, 24, source=(20, 30), target=(130, 140), side=16)
    found = [r for r in find_retouching(saved) if r.kind == "clone" and overlaps(r.box, (140, 130, 156, 146))]
    assert found and found[0].measures["mean_difference"] > 4.0 and found[0].measures["unique_blocks"] < 75
    assert find_retouching(_jpeg(texture)) == []


@pytest.mark.parametrize("seed", range(3))
def test_a_heal_of_a_16_by_14_pixel_ellipse_is_found(seed: int) -> None:
    """A small heal on fine texture leaves a smooth island of only 65-80 px (radius 3.6-4.2) once the
    activity window has blurred its rim: still a blob, and found."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (200, 200)).astype(np.float32), (0, 0), 1.0)
    texture = np.clip(128 + 12 * noise / noise.std(), 0, 255).astype(np.uint8)
    mask = np.zeros_like(texture)
    cv2.ellipse(mask, (100, 100), (8, 7), 30, 0, 360, 255, -1)
    healed = cv2.inpaint(texture, mask, 3, cv2.INPAINT_TELEA)
    found = [r for r in find_retouching(healed) if r.kind == "smooth" and overlaps(r.box, (92, 93, 109, 108))]
    assert found and found[0].measures["area"] < 90
    assert find_retouching(texture) == []


def test_small_islands_count_only_at_the_images_own_resolution() -> None:
    """An island of 70 px (or one whose ring is only 45% normally active) is a heal at native resolution;
    on a reduced image, whose noise the reduction averaged, such smooth spots are common and it is not."""
    island = SmoothIsland(box=(10, 10, 20, 19), area=70, activity=0.15, local=0.15, radius=4.0, step=0.2, level=120.0,
                          ring_activity=1.0, ring_normal=0.9, reference=1.5)
    assert smooth_score(island, native=True) >= 0.5
    assert smooth_score(island, native=False) < 0.5
    assert smooth_score(replace(island, area=130, radius=5.0), native=False) >= 0.5
    half_smooth_ring = replace(island, area=130, radius=5.0, ring_normal=0.45)  # a defect's smooth body beside the heal
    assert smooth_score(half_smooth_ring, native=True) >= 0.5
    assert smooth_score(half_smooth_ring, native=False) < 0.5


def _stored_at_75(seed: int) -> np.ndarray:
    """A textured capture stored as JPEG quality 75 (as BSData's frames are), decoded."""
    rng = np.random.default_rng(seed)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (320, 480)).astype(np.float32), (0, 0), 6)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (320, 480)).astype(np.float32), (0, 0), 1.0)
    texture = 128 + 30 * coarse / coarse.std() + 6 * fine / fine.std()
    return _jpeg(np.clip(texture, 0, 255).astype(np.uint8), 75)


@pytest.mark.parametrize("quality", [90, 95])
@pytest.mark.parametrize("seed", range(3))
def test_a_heal_saved_again_as_jpeg_misses_the_comb_of_the_first_compression(seed: int, quality: int) -> None:
    """Pixels inpainted after decoding a quality-75 JPEG and saved again at 85-95: their low DCT
    coefficients fall between the teeth of the comb quality 75 left on every other block (a re-save
    puts the JPEG grid back, so the gridless trace misses these). At quality 85 the second steps
    (3-4) are half the first: a smooth heal's small coefficients round to zero, on the comb."""
    frame = _stored_at_75(seed)
    assert find_requantised(_jpeg(frame, quality)) == []  # re-saved whole: every block on the comb
    mask = np.zeros(frame.shape, np.uint8)
    cv2.ellipse(mask, (300, 150), (40, 30), 20, 0, 360, 255, -1)
    healed = _jpeg(cv2.inpaint(frame, mask, 3, cv2.INPAINT_TELEA), quality)
    truth = (260, 120, 341, 181)
    assert any(overlaps(p.box, truth) for p in find_requantised(healed))
    assert any(r.kind == "requantised" and overlaps(r.box, truth) for r in find_retouching(healed))
    assert [r for r in find_retouching(_jpeg(frame, quality)) if r.kind == "requantised"] == []


def test_an_image_compressed_once_has_no_comb_to_miss() -> None:
    """A capture never stored at a coarser quality (a PNG, or a JPEG at 98 as NEU's and
    magnetic-tile's are) has no comb: a heal saved once as JPEG 90 is not this trace's to find."""
    rng = np.random.default_rng(3)
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (320, 480)).astype(np.float32), (0, 0), 6)
    frame = np.clip(128 + 30 * coarse / coarse.std() + rng.normal(0, 3, coarse.shape), 0, 255).astype(np.uint8)
    mask = np.zeros(frame.shape, np.uint8)
    cv2.ellipse(mask, (300, 150), (40, 30), 20, 0, 360, 255, -1)
    assert find_requantised(_jpeg(cv2.inpaint(frame, mask, 3, cv2.INPAINT_TELEA), 90)) == []
