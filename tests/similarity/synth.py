"""Synthetic captures of textured parts on one fixture, and the transforms a camera causes."""

from __future__ import annotations

import cv2
import numpy as np

SIZE = (480, 360)  # w, h of a scene


def fixture(seed: int = 1000) -> np.ndarray:
    """The background every part sits on: a gradient, bolts and rails (identical across parts)."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    img = np.tile(np.linspace(90, 140, w, dtype=np.float32), (h, 1))
    for x, y in ((30, 30), (w - 30, 30), (30, h - 30), (w - 30, h - 30)):
        cv2.circle(img, (x, y), 12, 40.0, -1)
        cv2.circle(img, (x, y), 5, 200.0, -1)
    cv2.rectangle(img, (0, h // 2 - 4), (w, h // 2 + 4), 70.0, -1)
    img += rng.normal(0, 2, img.shape).astype(np.float32)
    return img


def part(seed: int, shape: tuple[int, int] = (200, 260)) -> np.ndarray:
    """A textured part: random blobs, scratches and grain, different for every seed."""
    rng = np.random.default_rng(seed)
    h, w = shape
    tex = np.full((h, w), 150.0, np.float32)
    for _ in range(40):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(tex, c, int(rng.integers(3, 18)), float(rng.integers(40, 230)), -1)
    for _ in range(25):
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(tex, p1, p2, float(rng.integers(20, 250)), int(rng.integers(1, 4)))
    grain = cv2.GaussianBlur(rng.normal(0, 25, (h, w)).astype(np.float32), (0, 0), 1.2)
    return tex + grain


def scene(part_seed: int, fixture_seed: int = 1000) -> np.ndarray:
    img = fixture(fixture_seed)
    p = part(part_seed)
    h, w = p.shape
    y0, x0 = (SIZE[1] - h) // 2, (SIZE[0] - w) // 2
    img[y0 : y0 + h, x0 : x0 + w] = p
    return np.clip(img, 0, 255).astype(np.uint8)


def rotate(img: np.ndarray, angle: float) -> np.ndarray:
    """Any angle; the canvas grows so nothing is cut off."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=110)


def shift(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def crop(img: np.ndarray, frac: float, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = int(h * frac), int(w * frac)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return img[y : y + ch, x : x + cw].copy()


def relight(img: np.ndarray, gain: float, gamma: float) -> np.ndarray:
    x = np.clip(img.astype(np.float32) * gain, 0, 255) / 255.0
    return (255.0 * x**gamma).astype(np.uint8)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def random_capture(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A second capture of the same object: any rotation, shift, crop, relight, blur/noise, JPEG."""
    out = rotate(img, float(rng.uniform(0, 360)))
    out = shift(out, int(rng.integers(-20, 21)), int(rng.integers(-20, 21)))
    out = crop(out, float(rng.uniform(0.7, 0.95)), rng)
    out = relight(out, float(rng.uniform(0.7, 1.3)), float(rng.uniform(0.7, 1.4)))
    if rng.random() < 0.5:
        out = blur(out, float(rng.uniform(0.5, 1.2)))
    else:
        out = noise(out, float(rng.uniform(2, 6)), rng)
    return jpeg(out, int(rng.integers(60, 95)))


def encode_png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    return buf.tobytes()
