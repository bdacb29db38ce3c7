"""An appearance signature per image, from the describe stage's thumbnail (128 px, no new decode of the blob).

Five blocks, each a small histogram or profile that people can read, each weighted equally later:

* ``intensity``: the grey-level histogram (16 bins): exposure and material.
* ``edges``: the histogram of log gradient magnitudes (8 bins): how much structure and how hard.
* ``scales``: the power spectrum in 6 radial bands: the size of the structures, whatever their direction.
* ``texture``: rotation-invariant uniform local binary patterns (10 codes): the kind of surface.
* ``layout``: the image shrunk to 8 x 8, normalised: where things are (a fixed camera sees one layout).

Histograms enter as square roots (the Hellinger embedding), so Euclidean distance compares shapes fairly.
"""

from __future__ import annotations

import cv2
import numpy as np

BLOCK_SIZES = {"intensity": 16, "edges": 8, "scales": 6, "texture": 10, "layout": 64}
BLOCKS = tuple(BLOCK_SIZES)
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))  # in circular order
_BANDS = ((1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 46))
_SIDE = 64


def _normalised(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return np.sqrt(counts / total) if total > 0 else counts.astype(np.float64)


def uniform_lbp_histogram(gray: np.ndarray) -> np.ndarray:
    """Ojala's rotation-invariant uniform LBP (8 neighbours, radius 1): codes 0-8 count the brighter
    neighbours of a pattern with at most two 0/1 transitions around the circle; code 9 is every other pattern."""
    h, w = gray.shape
    centre = gray[1:-1, 1:-1].astype(np.int16)
    bits = np.stack([gray[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx].astype(np.int16) >= centre for dy, dx in _NEIGHBOURS])
    transitions = (bits != np.roll(bits, 1, axis=0)).sum(axis=0)
    codes = np.where(transitions <= 2, bits.sum(axis=0), 9)
    return np.bincount(codes.ravel(), minlength=10).astype(np.float64)


def signature(thumbnail: bytes) -> dict[str, np.ndarray]:
    """The five blocks of one image; raises ValueError when the thumbnail cannot be decoded."""
    gray = cv2.imdecode(np.frombuffer(thumbnail, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or min(gray.shape) < 3:
        raise ValueError("no usable thumbnail")
    intensity = np.histogram(gray, bins=16, range=(0, 256))[0].astype(np.float64)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    edges = np.histogram(np.log1p(cv2.magnitude(gx, gy)), bins=8, range=(0.0, 8.0))[0].astype(np.float64)
    square = cv2.resize(gray, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(square - square.mean()))) ** 2
    yy, xx = np.mgrid[-_SIDE // 2:_SIDE // 2, -_SIDE // 2:_SIDE // 2]
    radius = np.hypot(yy, xx)
    scales = np.array([power[(radius >= lo) & (radius < hi)].sum() for lo, hi in _BANDS])
    layout = cv2.resize(gray, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    layout = (layout - layout.mean()) / (layout.std() + 1.0)
    return {"intensity": _normalised(intensity), "edges": _normalised(edges), "scales": _normalised(scales),
            "texture": _normalised(uniform_lbp_histogram(gray)), "layout": layout}


def standardised(signatures: list[dict[str, np.ndarray]]) -> np.ndarray:
    """Rows of every block scaled per dimension by median and MAD (clipped to +-10), each block divided by
    the square root of its length so every block weighs the same in a Euclidean distance."""
    parts = []
    for block in BLOCKS:
        values = np.stack([s[block] for s in signatures])
        median = np.median(values, axis=0)
        spread = 1.4826 * np.median(np.abs(values - median), axis=0)
        fallback = values.std(axis=0)
        spread = np.where(spread > 0, spread, np.where(fallback > 0, fallback, 1.0))
        parts.append(np.clip((values - median) / spread, -10, 10) / np.sqrt(values.shape[1]))
    return np.concatenate(parts, axis=1)
