"""Per-image features and scene registration: the invariances the explanations rely on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from keepsight.drift.features import EMBEDDING_DIM, Prediction, image_bytes, image_features
from keepsight.drift.scene import FAILED, median_scene, register, registered_floor, scene_shape, to_scene
from keepsight.errors import ImageError
from tests.drift import synth


def _features(image: np.ndarray):  # type: ignore[no-untyped-def]
    return image_features(synth.png(image))


def test_features_have_the_describe_statistics_and_the_invariant_ones() -> None:
    rng = np.random.default_rng(0)
    f = _features(synth.capture(synth.world(0), rng))
    assert {"brightness", "p5", "p50", "p95", "contrast", "sharpness", "noise", "colourfulness",
            "focus", "grain", "saturation"} <= set(f.stats)
    assert f.embedding.shape == (EMBEDDING_DIM,) and f.embedding.dtype == np.float32
    assert np.linalg.norm(f.embedding) == pytest.approx(1.0, abs=1e-5)
    assert f.thumbnail[:2] == b"\xff\xd8" and len(f.digest) == 64


def test_darkening_moves_brightness_not_focus_nor_the_embedding() -> None:
    scene = synth.world(0)
    a = _features(synth.capture(scene, np.random.default_rng(1)))
    dark = _features(synth.capture(scene, np.random.default_rng(1), gain=0.6))
    assert dark.stats["brightness"] < 0.7 * a.stats["brightness"]
    assert dark.stats["sharpness"] < 0.5 * a.stats["sharpness"]  # raw sharpness falls with the light...
    assert dark.stats["focus"] == pytest.approx(a.stats["focus"], rel=0.15)  # ...the gain-invariant focus does not
    assert np.linalg.norm(dark.embedding - a.embedding) < 0.05


def test_blur_drops_focus_and_other_content_moves_the_embedding() -> None:
    scene = synth.world(0)
    a = _features(synth.capture(scene, np.random.default_rng(1)))
    b = _features(synth.capture(scene, np.random.default_rng(2)))
    blurred = _features(synth.capture(scene, np.random.default_rng(1), blur=2.0))
    other = _features(synth.capture(synth.world(9), np.random.default_rng(1)))
    assert blurred.stats["focus"] < 0.3 * a.stats["focus"]
    same = np.linalg.norm(a.embedding - b.embedding)
    assert np.linalg.norm(other.embedding - a.embedding) > 5 * same


def test_registration_recovers_translation_rotation_and_scale() -> None:
    rng = np.random.default_rng(3)
    scene = synth.world(0)
    views = [cv2.cvtColor(synth.capture(scene, rng, jitter=0.0), cv2.COLOR_RGB2GRAY) for _ in range(5)]
    reference = median_scene(views)
    still = register(reference, views[0])
    assert abs(still.dx) < 0.5 and abs(still.dy) < 0.5 and abs(still.rotation) < 0.05 and still.quality > 0.95
    moved = cv2.cvtColor(synth.capture(scene, rng, dx=12, dy=-7, angle=2.0, jitter=0.0), cv2.COLOR_RGB2GRAY)
    reg = register(reference, moved)
    assert reg.dx == pytest.approx(12, abs=0.7) and reg.dy == pytest.approx(-7, abs=0.7)
    assert reg.rotation == pytest.approx(2.0, abs=0.1)  # counter-clockwise positive, as cv2.getRotationMatrix2D
    h, w = views[0].shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, 1.05)
    zoomed = cv2.warpAffine(views[1], m, (w, h), borderMode=cv2.BORDER_REFLECT)
    assert register(reference, zoomed).scale == pytest.approx(1.05, abs=0.01)


def test_unrelated_images_do_not_register() -> None:
    rng = np.random.default_rng(3)
    views = [cv2.cvtColor(synth.capture(synth.world(0), rng), cv2.COLOR_RGB2GRAY) for _ in range(8)]
    reference = median_scene(views)
    floor = registered_floor(np.array([register(reference, v).quality for v in views]))
    assert floor > 0.8
    for seed in (5, 6, 7):
        other = cv2.cvtColor(synth.capture(synth.world(seed), rng), cv2.COLOR_RGB2GRAY)
        assert register(reference, other).quality < floor
    assert register(reference, np.full_like(views[0], 90)) == FAILED


def test_scene_shape_and_aspect_check() -> None:
    assert scene_shape(1000, 380, 384) == (146, 384)
    assert to_scene(np.zeros((100, 200), np.uint8), (50, 100)).shape == (50, 100)
    assert to_scene(np.zeros((100, 100), np.uint8), (50, 100)) is None  # framed differently


def test_image_inputs_and_predictions() -> None:
    rgb = np.zeros((10, 12, 3), np.uint8)
    data, path = image_bytes(rgb)
    assert data.startswith(b"\x89PNG") and path is None
    with pytest.raises(ImageError, match="uint8"):
        image_bytes(np.zeros((4, 4), np.float32))
    with pytest.raises(ImageError, match="cannot read"):
        image_bytes("/nonexistent/x.png")
    with pytest.raises(ImageError):
        image_features(b"not an image")
    assert Prediction.coerce({"label": "ok", "confidence": 0.9}) == Prediction("ok", 0.9)
    assert Prediction.coerce(("ok", 0.5)) == Prediction("ok", 0.5)
    assert Prediction.coerce("dent") == Prediction("dent")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Prediction("ok", 1.5)
    with pytest.raises(ValueError, match="unknown prediction fields"):
        Prediction.coerce({"label": "ok", "score": 1})
