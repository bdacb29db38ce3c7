"""A synthetic inspection station: one fixed camera over a fixture, captured with the changes drift must explain."""

from __future__ import annotations

import cv2
import numpy as np

SIZE = (360, 240)  # (w, h) of the camera's view
FRAME = (400, 280)  # the world the view is cut from, so a moved camera sees real neighbouring content


def world(seed: int = 0) -> np.ndarray:
    """A textured fixture with a part on it, larger than the view (gray, float32)."""
    rng = np.random.default_rng(seed)
    w, h = FRAME
    img = np.tile(np.linspace(80, 170, w, dtype=np.float32), (h, 1))
    for _ in range(60):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, c, int(rng.integers(3, 20)), float(rng.integers(30, 230)), -1)
    for _ in range(30):
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(img, p1, p2, float(rng.integers(20, 250)), int(rng.integers(1, 4)))
    img += cv2.GaussianBlur(rng.normal(0, 20, (h, w)).astype(np.float32), (0, 0), 1.0)
    return img


def capture(scene: np.ndarray, rng: np.random.Generator, *, gain: float = 1.0, dx: float = 0.0, dy: float = 0.0,
            angle: float = 0.0, blur: float = 0.0, jitter: float = 0.7) -> np.ndarray:
    """One RGB image of ``scene`` seen by the camera: natural jitter, lamp flicker and sensor noise,
    plus the given change (content moved by dx, dy and rotated by angle degrees counter-clockwise)."""
    w, h = FRAME
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += dx + rng.normal(0, jitter)
    m[1, 2] += dy + rng.normal(0, jitter)
    moved = cv2.warpAffine(scene, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    x0, y0 = (w - SIZE[0]) // 2, (h - SIZE[1]) // 2
    view = moved[y0:y0 + SIZE[1], x0:x0 + SIZE[0]]
    if blur:
        view = cv2.GaussianBlur(view, (0, 0), blur)
    view = view * gain * rng.normal(1.0, 0.02) + rng.normal(0, 2.0, view.shape)
    gray = np.clip(view, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()
