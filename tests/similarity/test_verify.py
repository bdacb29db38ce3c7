"""Geometric verification on single pairs: what it accepts, what it rejects, the evidence it gives."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pytest

from keepsight.descriptors.compute import Description, describe_bytes
from keepsight.similarity.verify import VerifyParams, region_keypoints, verify_descriptions, verify_regions
from tests.similarity import synth


def _describe(img: np.ndarray) -> Description:
    return describe_bytes("x", synth.encode_png(img))


def test_a_rotated_relit_crop_is_confirmed_with_its_rotation() -> None:
    scene = synth.scene(11)
    capture = synth.relight(synth.crop(synth.rotate(scene, 37.0), 0.8, np.random.default_rng(0)), 1.2, 0.8)
    v = verify_descriptions(_describe(scene), _describe(capture))
    assert v.ok
    # cv2's rotation by +37 degrees turns the picture counter-clockwise on screen; in image
    # coordinates (y down) the transform from A to B turns by -37 degrees
    assert abs(((v.angle - (360.0 - 37.0)) + 180) % 360 - 180) < 2.0 and abs(v.scale - 1.0) < 0.02
    assert v.inliers >= v.needed >= VerifyParams().min_inliers
    assert v.needed == max(VerifyParams().min_inliers, math.ceil(VerifyParams().inlier_share * v.overlap))
    assert set(v.evidence()) >= {"inliers", "matches", "angle", "scale", "coverage", "overlap_keypoints"}


def test_different_parts_on_one_fixture_are_rejected_though_the_fixture_matches() -> None:
    a, b = _describe(synth.scene(1)), _describe(synth.scene(2))
    v = verify_descriptions(a, b)
    assert not v.ok
    assert v.inliers >= v.needed  # plenty of exact inliers, all on the fixture ...
    assert v.coverage < VerifyParams().min_coverage  # ... which leaves the part's keypoints unexplained


def test_unrotated_pairs_need_the_larger_aligned_share() -> None:
    scene = synth.scene(12)
    v = verify_descriptions(_describe(scene), _describe(synth.shift(scene, 15, -10)))
    assert v.ok and min(v.angle, 360 - v.angle) < 1.0
    assert v.needed == max(VerifyParams().min_inliers, math.ceil(VerifyParams().aligned_share * v.overlap))
    strict = VerifyParams(aligned_share=1.0)
    assert not verify_descriptions(_describe(scene), _describe(synth.shift(scene, 15, -10)), strict).ok


def test_a_clear_pair_is_confirmed_by_the_quick_test_alone_and_look_alikes_are_not() -> None:
    """Early accept: the quick test's inliers among the strongest keypoints reach 1.5 times the count
    needed, so the full match is skipped (fewer inliers reported); the verdicts equal the full test's."""
    scene = synth.scene(13)
    a, b = _describe(scene), _describe(synth.rotate(scene, 21.0))
    full = VerifyParams(early_accept=0.0)
    early, late = verify_descriptions(a, b), verify_descriptions(a, b, full)
    assert early.ok and late.ok
    assert early.inliers >= 1.5 * early.needed and early.inliers < late.inliers  # only the quick test's inliers
    assert early.matches < late.matches and early.coverage >= VerifyParams().min_coverage
    # different parts on one fixture: many fixture inliers, but the coverage test holds in both paths
    c, d = _describe(synth.scene(1)), _describe(synth.scene(2))
    assert not verify_descriptions(c, d).ok and not verify_descriptions(c, d, full).ok


def test_unrelated_images_stop_at_the_quick_test() -> None:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (360, 480), dtype=np.uint8)
    v = verify_descriptions(_describe(synth.scene(3)), _describe(noise))
    assert not v.ok and v.overlap == 0 and v.inliers < VerifyParams().quick_min_inliers


def test_verify_regions_picks_the_region_that_is_in_the_other_image() -> None:
    """A patch of scene 1 (turned by 90 degrees) pasted into scene 2: of two regions of scene 1, only
    the pasted one is found; a region elsewhere in scene 1 is not."""
    a = synth.scene(1)
    x, y, w, h = 170, 130, 60, 50
    patch = synth.rotate(a[y - 25 : y + h + 25, x - 25 : x + w + 25], 90)
    b = synth.scene(2)
    b[20 : 20 + patch.shape[0], 30 : 30 + patch.shape[1]] = patch
    da, db = _describe(a), _describe(b)
    elsewhere = region_keypoints(da.keypoints, (20.0, 250.0, 80.0, 300.0))
    pasted = region_keypoints(da.keypoints, (float(x), float(y), float(x + w), float(y + h)))
    params = VerifyParams(min_inliers=10, inlier_share=0.0, min_coverage=0.0)
    r, v = verify_regions(
        da.keypoints, da.descriptors, [elsewhere, pasted], db.keypoints, db.descriptors, params=params
    )
    assert r == 1 and v.ok and v.inliers >= 10
    r, v = verify_regions(da.keypoints, da.descriptors, [elsewhere], db.keypoints, db.descriptors, params=params)
    assert r == -1 or not v.ok


def test_the_full_match_extending_the_quick_one_equals_a_fresh_search() -> None:
    from keepsight.similarity.verify import _two_nearest, _two_nearest_extending

    rng = np.random.default_rng(8)
    des_a = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    des_b = rng.integers(0, 256, (700, 32), dtype=np.uint8)
    des_b[:40] = des_a[200:240]  # exact matches outside A's head and ...
    des_b[650:] = des_a[:50]  # ... outside B's head
    fresh_dist, fresh_nn = _two_nearest(des_a, des_b)
    assert not fresh_dist[200:240, 0].any() and np.array_equal(fresh_nn[200:240, 0], np.arange(40))
    assert not fresh_dist[:50, 0].any() and np.array_equal(fresh_nn[:50, 0], np.arange(650, 700))
    for head_a, head_b in ((300, 450), (500, 450), (300, 700), (499, 1)):
        head = _two_nearest(des_a[:head_a], des_b[:head_b])
        dist, nn = _two_nearest_extending(des_a, des_b, head, head_b)
        assert np.array_equal(dist, fresh_dist)
        unique = fresh_dist[:, 0] < fresh_dist[:, 1]  # with a tie either index is the nearest
        assert np.array_equal(nn[unique, 0], fresh_nn[unique, 0])


def test_a_near_miss_is_verified_again_from_the_other_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test is not symmetric: a pair just short one way is tried the other way, and the
    evidence is then turned back to read from A to B; a clear miss is not tried again."""
    verify_module = importlib.import_module("keepsight.similarity.verify")  # the package exports a function `verify`

    a, b = _describe(synth.scene(21)), _describe(synth.scene(22))
    params = VerifyParams()
    near = verify_module.Verification(40, 18, 1.0, 0.0, False, 0.9, 300, 22)  # 18 >= 0.75 x 22
    clear = verify_module.Verification(10, 4, 1.0, 0.0, False, 0.1, 300, 22)
    back = verify_module.Verification(45, 30, 0.5, 90.0, True, 0.9, 300, 22)
    calls: list[tuple[str, str]] = []

    def one_way(x: Description, y: Description, p: VerifyParams) -> verify_module.Verification:
        calls.append(("a" if x is a else "b", "a" if y is a else "b"))
        return back if x is b else first

    monkeypatch.setattr(verify_module, "_verify_one_way", one_way)
    first = near
    v = verify_descriptions(a, b, params)
    assert calls == [("a", "b"), ("b", "a")]
    assert v.ok and v.inliers == 30 and v.scale == pytest.approx(2.0) and v.angle == pytest.approx(270.0)
    calls.clear()
    first = clear
    assert not verify_descriptions(a, b, params).ok and calls == [("a", "b")]  # 4 inliers: not tried again
    calls.clear()
    first = near
    off = VerifyParams(reverse_share=0.0)
    assert verify_descriptions(a, b, off) is near and calls == [("a", "b")]


def test_verification_is_symmetric_on_a_real_near_miss(shared_data: Path) -> None:
    """Two NEU-DET scratch images that one side confirms (28 inliers) and the other misses by two
    (20 of 22): either order gives the same verdict."""
    folder = shared_data / "neu-det" / "IMAGES"
    a, b = (describe_bytes(n, (folder / f"{n}.jpg").read_bytes()) for n in ("scratches_118", "scratches_144"))
    from keepsight.similarity.verify import _verify_one_way

    one, other = _verify_one_way(a, b, VerifyParams()), _verify_one_way(b, a, VerifyParams())
    assert one.ok != other.ok  # the asymmetry this guards against
    assert verify_descriptions(a, b).ok == verify_descriptions(b, a).ok
    assert verify_descriptions(a, b, VerifyParams(reverse_share=0.0)).ok == one.ok
