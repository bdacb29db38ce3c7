"""What drift monitoring measures on one image, computed the same way for training and production images.

One reduced-size decode (``descriptors.compute.decode_reduced``) gives:

* the describe stage's statistics (``image_stats``: brightness, percentiles, contrast, sharpness,
  noise, colourfulness) plus three gain-invariant ones: ``focus`` (Laplacian variance over intensity
  variance, so darkening does not read as blur), ``grain`` (noise over contrast) and
  ``saturation`` (colourfulness over brightness);
* the appearance embedding: a contrast-normalised 16x16 thumbnail (the scene layout) next to
  4x4 cells of gradient-orientation histograms (the texture). Both halves are invariant to
  brightness gain and offset and barely move under blur, so a distance to training measures
  *content*. (The ORB-VLAD global descriptor was measured and rejected for this: see docs/drift.md.);
* a JPEG thumbnail for reports.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from keepsight.descriptors.compute import decode_reduced, image_stats, thumbnail
from keepsight.errors import ImageError

LAYOUT_SIDE = 16
TEXTURE_SIDE = 64
TEXTURE_CELLS = 4
ORIENTATION_BINS = 9
EMBEDDING_DIM = LAYOUT_SIDE * LAYOUT_SIDE + TEXTURE_CELLS * TEXTURE_CELLS * ORIENTATION_BINS
_FLAT = 1e-3  # intensity spread below which an image is treated as flat


@dataclass(frozen=True)
class Prediction:
    """A model's output for one image: the predicted class and its confidence in [0, 1]."""

    label: str | None = None
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.confidence is not None and not 0.0 <= float(self.confidence) <= 1.0:
            raise ValueError(f"prediction confidence must lie in [0, 1], got {self.confidence}")

    @classmethod
    def coerce(cls, value: Prediction | Mapping[str, Any] | tuple[Any, ...] | str | None) -> Prediction | None:
        """Accept a Prediction, ``{"label": ..., "confidence": ...}``, ``(label, confidence)`` or a label."""
        if value is None or isinstance(value, Prediction):
            return value
        if isinstance(value, str):
            return cls(label=value)
        if isinstance(value, Mapping):
            unknown = set(value) - {"label", "confidence"}
            if unknown:
                raise ValueError(f"unknown prediction fields {sorted(unknown)}; expected label and confidence")
            conf = value.get("confidence")
            return cls(label=value.get("label"), confidence=None if conf is None else float(conf))
        if isinstance(value, tuple) and len(value) == 2:
            return cls(label=value[0], confidence=None if value[1] is None else float(value[1]))
        raise ValueError(f"cannot read a prediction from {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence}


@dataclass
class ImageFeatures:
    digest: str
    width: int
    height: int
    stats: dict[str, float]
    embedding: np.ndarray  # float32 (EMBEDDING_DIM,), L2-normalised
    gray: np.ndarray  # uint8 work image, for registration to the reference scene
    thumbnail: bytes


def derived_stats(stats: Mapping[str, float]) -> dict[str, float]:
    """The describe statistics plus the gain-invariant ``focus``, ``grain`` and ``saturation``."""
    contrast = float(stats["contrast"])
    out = {k: float(v) for k, v in stats.items()}
    out["focus"] = float(stats["sharpness"]) / (contrast * contrast) if contrast > _FLAT else 0.0
    out["grain"] = float(stats["noise"]) / contrast if contrast > _FLAT else 0.0
    out["saturation"] = float(stats["colourfulness"]) / max(float(stats["brightness"]), 1.0)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def orientation_histograms(gray: np.ndarray) -> np.ndarray:
    """Magnitude-weighted gradient-orientation histograms (unsigned, 0-180 degrees) over a grid of cells."""
    small = cv2.resize(gray, (TEXTURE_SIDE, TEXTURE_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    magnitude, angle = cv2.cartToPolar(gx, gy)
    bins = np.minimum((np.mod(angle, np.pi) / np.pi * ORIENTATION_BINS).astype(np.int64), ORIENTATION_BINS - 1)
    cell = np.arange(TEXTURE_SIDE) * TEXTURE_CELLS // TEXTURE_SIDE
    index = (cell[:, None] * TEXTURE_CELLS + cell[None, :]) * ORIENTATION_BINS + bins
    return np.bincount(index.ravel(), weights=magnitude.ravel(), minlength=TEXTURE_CELLS ** 2 * ORIENTATION_BINS)


def appearance_embedding(gray: np.ndarray) -> np.ndarray:
    """Layout (normalised thumbnail) and texture (orientation histograms), each L2-normalised, halves weighted equally."""
    layout = cv2.resize(gray, (LAYOUT_SIDE, LAYOUT_SIDE), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    spread = layout.std()
    layout = (layout - layout.mean()) / spread if spread > _FLAT else np.zeros_like(layout)
    texture = orientation_histograms(gray)
    vector = np.concatenate([_unit(layout), _unit(texture)]) / np.sqrt(2.0)
    return vector.astype(np.float32)


def image_features(data: bytes, *, digest: str | None = None) -> ImageFeatures:
    """Everything drift needs from one image's bytes (raises ImageError when they do not decode)."""
    pixels, _mode, (width, height), _scale = decode_reduced(data)
    gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    return ImageFeatures(
        digest=digest or hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        stats=derived_stats(image_stats(pixels, gray)),
        embedding=appearance_embedding(gray),
        gray=gray,
        thumbnail=thumbnail(pixels),
    )


def image_bytes(image: bytes | str | Path | np.ndarray) -> tuple[bytes, Path | None]:
    """The encoded bytes of an image given as bytes, a file path, or an RGB / gray uint8 array (encoded as PNG)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image), None
    if isinstance(image, str | Path):
        path = Path(image)
        try:
            return path.read_bytes(), path
        except OSError as exc:
            raise ImageError(f"cannot read image file: {exc.strerror or exc}", path=path) from None
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise ImageError(f"expected a uint8 array of shape (H, W), (H, W, 3) or (H, W, 4), got "
                             f"{image.dtype} {image.shape}")
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        return buf.getvalue(), None
    raise ImageError(f"cannot read an image from a {type(image).__name__}; expected bytes, a path or a numpy array")
