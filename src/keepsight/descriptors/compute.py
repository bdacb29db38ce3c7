"""Everything later stages need from one image, computed from a single (reduced-size) decode.

Pure functions on bytes: no dataset, no storage. ``describe_bytes`` is what the worker
processes run; its result is a :class:`Description` that ``store.py`` saves as one ``.npz``.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from keepsight.errors import ImageError

# Images are analysed with their long side at most this (JPEG DCT scaling does most of the work).
WORK_SIDE = 768
# A JPEG is decoded at the strongest DCT reduction whose long side still reaches this share of
# WORK_SIDE: a 2900 px frame is decoded at 1/4 (725 px) rather than at 1/2 and then resized
# (a lower share loses the fine texture that tells look-alike parts apart).
MIN_WORK_SHARE = 0.9
# Keypoints: many fine-scale ones (4 pyramid levels, low FAST threshold). Re-captures of one
# surface share its fine texture (scratches, grain); look-alike parts on one fixture share only
# the coarse structure, which a deep pyramid with few keypoints would spend its budget on.
# 600 rather than 800: the same or better recall on both benchmark seeds for 10-13 % less CPU
# (verification computes fewer distances), though 5 % fewer confirmed pairs on small NEU-DET
# images (docs/similarity.md); 500 keypoints or a 640 px work side lose 3-11 benchmark pairs,
# 512 px joins look-alikes (benchmarks/results/similarity_sweep.json).
MAX_KEYPOINTS = 600
ORB_LEVELS = 4
ORB_SCALE_FACTOR = 1.2
ORB_FAST_THRESHOLD = 5
# FAST is tried at this threshold first: on textured images its strongest 800 corners are the same
# (98-100 % measured on the four shared datasets) at 25-50 % less ORB time; images that give fewer
# than 90 % of the keypoints (low texture) are detected again at ORB_FAST_THRESHOLD.
ORB_FAST_THRESHOLD_FIRST = 10
THUMB_SIDE = 128
DESCRIBE_VERSION = 5  # bump when the computation changes: old .npz files are then recomputed

Image.MAX_IMAGE_PIXELS = None  # the importer already refused decompression bombs


@dataclass
class Description:
    """What the describe stage knows about one blob. Keypoints are in original-image pixels."""

    digest: str
    width: int
    height: int
    mode: str
    scale: float  # work image size / original size
    stats: dict[str, float]
    phash: int  # plain 64-bit DCT hash of the image as stored (the "global hash" baseline)
    dhash: int  # the same hash made invariant under the 8 rotations/flips (min over the dihedral group)
    keypoints: np.ndarray  # float32 (N, 4): x, y, size, angle
    descriptors: np.ndarray  # uint8 (N, 32): ORB
    thumbnail: bytes = b""
    extra: dict[str, np.ndarray] = field(default_factory=dict)


_REDUCED = {
    ("L", 1): cv2.IMREAD_GRAYSCALE,
    ("L", 2): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    ("L", 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    ("L", 8): cv2.IMREAD_REDUCED_GRAYSCALE_8,
    ("RGB", 1): cv2.IMREAD_COLOR,
    ("RGB", 2): cv2.IMREAD_REDUCED_COLOR_2,
    ("RGB", 4): cv2.IMREAD_REDUCED_COLOR_4,
    ("RGB", 8): cv2.IMREAD_REDUCED_COLOR_8,
}


def decode_reduced(data: bytes, work_side: int = WORK_SIDE) -> tuple[np.ndarray, str, tuple[int, int], float]:
    """Decode once, letting JPEG skip detail we would throw away (DCT scaling by 1/2, 1/4, 1/8).

    Returns (pixels as uint8 gray HxW or RGB HxWx3, original mode, original (w, h), scale).
    """
    arr, mode, size = _decode_at_most(data, work_side)
    arr = _fit(arr, work_side)
    return np.ascontiguousarray(arr), mode, size, arr.shape[1] / size[0]


def _decode_at_most(data: bytes, work_side: int) -> tuple[np.ndarray, str, tuple[int, int]]:
    """Pixels (gray or RGB) at the strongest JPEG DCT reduction that keeps the long side near ``work_side``."""
    arr, mode, size, bgr = _decode_native(data, work_side)
    return (cv2.cvtColor(arr, cv2.COLOR_BGR2RGB) if bgr else arr), mode, size


def _decode_native(data: bytes, work_side: int) -> tuple[np.ndarray, str, tuple[int, int], bool]:
    """As ``_decode_at_most``, colour left in the decoder's channel order: (pixels, mode, size, is BGR)."""
    header = jpeg_header(data)  # reading the frame header ourselves is ~10x cheaper than Image.open
    if header is not None:
        size, mode = header
        factor = 1
        while factor < 8 and max(size) / (factor * 2) >= work_side * MIN_WORK_SHARE:
            factor *= 2
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED[(mode, factor)])
        if arr is not None and arr.shape[:2] == ((size[1] + factor - 1) // factor, (size[0] + factor - 1) // factor):
            return arr, mode, size, arr.ndim == 3
    try:
        im = Image.open(io.BytesIO(data))  # the header only: size, mode, format
        size, mode = im.size, im.mode
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode image: {exc}") from None
    return _decode_pil(im), mode, size, False


# JPEG start-of-frame markers (baseline, extended, progressive, lossless, arithmetic; not DHT/JPG/DAC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_header(data: bytes) -> tuple[tuple[int, int], str] | None:
    """((width, height), "L" or "RGB") from a JPEG's frame header; None for anything else (PIL decides then)."""
    if data[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF:
            if i + 10 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            components = data[i + 9]
            mode = {1: "L", 3: "RGB"}.get(components)
            return ((width, height), mode) if mode and width and height else None
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        i += 2 + length
    return None


def _fit(arr: np.ndarray, side: int) -> np.ndarray:
    """Shrink so the long side is at most ``side`` (INTER_AREA: no aliasing)."""
    if max(arr.shape[:2]) <= side:
        return arr
    ratio = side / max(arr.shape[:2])
    new = (max(1, round(arr.shape[1] * ratio)), max(1, round(arr.shape[0] * ratio)))
    return cv2.resize(arr, new, interpolation=cv2.INTER_AREA)


def _decode_pil(im: Image.Image) -> np.ndarray:
    try:
        im.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode image: {exc}") from None
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB") if im.mode in ("RGBA", "P", "CMYK", "YCbCr", "LA", "PA") else _to_gray8(im)
    return np.asarray(im)


def _to_gray8(im: Image.Image) -> Image.Image:
    """16-bit and float images: stretch to 8 bits (keeps the structure ORB and hashes need)."""
    arr = np.asarray(im, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(arr.astype(np.uint8), mode="L")


_LEVELS = np.arange(256, dtype=np.float64)
_LEVELS_SQUARED = _LEVELS**2


def image_stats(pixels: np.ndarray, gray: np.ndarray) -> dict[str, float]:
    """Brightness, contrast, sharpness, noise and colourfulness of the work image.

    Brightness, percentiles and contrast come from the histogram; sharpness (variance of the
    Laplacian, 3x3 cross) and Immerkaer's noise estimate from one compiled pass
    (``kernels.laplacian_and_noise_sums``). Images under 3 x 3 px have no noise estimate (0)."""
    gray = np.ascontiguousarray(gray)
    hist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    cumulative = hist.cumsum()
    p1, p5, p50, p95, p99 = np.searchsorted(cumulative, np.array([0.01, 0.05, 0.5, 0.95, 0.99]) * cumulative[-1])
    n = float(gray.size)
    mean = float(hist @ _LEVELS) / n
    h, w = gray.shape
    if min(h, w) >= 3:
        from keepsight.descriptors.kernels import laplacian_and_noise_sums  # numba loads when pixels are described

        lap_total, lap_squares, noise_l1 = laplacian_and_noise_sums(gray)
        sharpness = max(lap_squares / n - (lap_total / n) ** 2, 0.0)
        noise = noise_l1 * math.sqrt(math.pi / 2) / (6.0 * (w - 2) * (h - 2))
    else:
        sharpness, noise = float(cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))[1][0, 0]) ** 2, 0.0
    return {
        "brightness": mean,
        "p1": float(p1),
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "contrast": math.sqrt(max(float(hist @ _LEVELS_SQUARED) / n - mean * mean, 0.0)),
        "sharpness": sharpness,
        "noise": noise,
        "colourfulness": colourfulness(pixels) if pixels.ndim == 3 else 0.0,
    }


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's metric (0 for gray images stored as RGB)."""
    r, g, b = cv2.split(rgb.astype(np.float32))
    rg, yb = cv2.subtract(r, g), cv2.subtract(cv2.addWeighted(r, 0.5, g, 0.5, 0.0), b)
    (m_rg, s_rg), (m_yb, s_yb) = (tuple(float(v[0, 0]) for v in cv2.meanStdDev(x)) for x in (rg, yb))
    return float(math.hypot(s_rg, s_yb) + 0.3 * math.hypot(m_rg, m_yb))


# -- perceptual hashes ------------------------------------------------------------------

# Flipping an image along x multiplies its DCT-II coefficient (u, v) by (-1)^u (same for y and v);
# transposing it transposes the coefficients. So one DCT gives the hashes of all 8 rotations/flips.
_SIGN = np.array([1.0 if k % 2 == 0 else -1.0 for k in range(8)], dtype=np.float32)
_DIHEDRAL = [(sy, sx, t) for t in (False, True) for sy in (False, True) for sx in (False, True)]


def _dct_block(gray: np.ndarray) -> np.ndarray:
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.dct(small)[:8, :8]


def _bits(blocks: np.ndarray) -> list[int]:
    """64-bit hashes of (N, 8, 8) DCT blocks: each AC coefficient above its block's median."""
    flat = blocks.reshape(len(blocks), 64)[:, 1:]  # the DC term only says "bright or dark": leave it out
    bits = flat > np.median(flat, axis=1, keepdims=True)
    packed = np.packbits(np.hstack([np.zeros((len(blocks), 1), bool), bits]), axis=1)
    return [int(v) for v in packed.view(">u8").ravel()]


# the 8 rotations/flips as sign patterns (flip y, flip x) and a transpose, applied to one DCT block
_ONES = np.ones(8, np.float32)
_VARIANT_SIGNS = np.stack([np.outer(_SIGN if fy else _ONES, _SIGN if fx else _ONES) for fy, fx, _ in _DIHEDRAL])
_VARIANT_TRANSPOSED = np.array([t for _, _, t in _DIHEDRAL])


def perceptual_hashes(gray: np.ndarray) -> tuple[int, int]:
    """(plain pHash, dihedral-canonical pHash = the minimum over the 8 rotations/flips)."""
    block = _dct_block(gray)
    variants = block[None] * _VARIANT_SIGNS
    variants[_VARIANT_TRANSPOSED] = variants[_VARIANT_TRANSPOSED].transpose(0, 2, 1)
    hashes = _bits(np.concatenate([block[None], variants]))
    return hashes[0], min(hashes[1:])


def hamming64(a: int, b: int) -> int:
    return (int(a) ^ int(b)).bit_count()


# -- local features ---------------------------------------------------------------------

_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


_ORBS = threading.local()  # one detector per thread and setting: made once, never shared across threads


def _orb(max_keypoints: int, fast_threshold: int) -> cv2.ORB:
    cache: dict[tuple[int, int], cv2.ORB] = _ORBS.__dict__.setdefault("by_setting", {})
    key = (max_keypoints, fast_threshold)
    if key not in cache:
        cache[key] = cv2.ORB_create(  # type: ignore[attr-defined]  # missing from OpenCV 5 stubs
            nfeatures=max_keypoints,
            scaleFactor=ORB_SCALE_FACTOR,
            nlevels=ORB_LEVELS,
            edgeThreshold=15,
            patchSize=31,
            fastThreshold=fast_threshold,
        )
    return cache[key]


def local_features(gray: np.ndarray, scale: float, max_keypoints: int = MAX_KEYPOINTS) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoints (rotation invariant) on a contrast-equalised image, so relit captures still match.

    Sorted by corner response, strongest first: a prefix is the best subset (verification's quick test).
    """
    eq = _CLAHE.apply(gray)
    kps, des = _orb(max_keypoints, ORB_FAST_THRESHOLD_FIRST).detectAndCompute(eq, None)
    if len(kps) < 0.9 * max_keypoints:
        kps, des = _orb(max_keypoints, ORB_FAST_THRESHOLD).detectAndCompute(eq, None)
    if des is None or not kps:
        return np.zeros((0, 4), np.float32), np.zeros((0, 32), np.uint8)
    xy = cv2.KeyPoint_convert(kps)  # type: ignore[attr-defined]  # missing from OpenCV 5 stubs
    size_angle_response = np.array([(k.size, k.angle, k.response) for k in kps], dtype=np.float32)
    pts = np.column_stack([xy / scale, size_angle_response[:, 0] / scale, size_angle_response[:, 1]])
    order = np.argsort(-size_angle_response[:, 2], kind="stable")
    return pts[order].astype(np.float32), np.ascontiguousarray(des[order])


def thumbnail(pixels: np.ndarray, side: int = THUMB_SIDE) -> bytes:
    h, w = pixels.shape[:2]
    ratio = min(1.0, side / max(h, w))
    small = cv2.resize(pixels, (max(1, round(w * ratio)), max(1, round(h * ratio))), interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else b""


COLOUR_SIDE = 256  # colour statistics, the hashes and the thumbnail come from a copy about this small


def _shrink_by_integer(arr: np.ndarray, side: int) -> np.ndarray:
    """Shrink by the largest whole factor that keeps the long side at least ``side`` (or as it is).

    A whole factor takes OpenCV's fast pixel-area path: about 5x cheaper than an arbitrary ratio,
    and the copy only feeds 32 px hashes, colour statistics and a 128 px thumbnail.
    """
    factor = max(1, max(arr.shape[:2]) // side)
    if factor == 1:
        return arr
    h, w = arr.shape[0] // factor, arr.shape[1] // factor
    return cv2.resize(arr[: h * factor, : w * factor], (w, h), interpolation=cv2.INTER_AREA)


def describe_bytes(
    digest: str, data: bytes, *, work_side: int = WORK_SIDE, max_keypoints: int = MAX_KEYPOINTS
) -> Description:
    decoded, mode, (width, height), bgr = _decode_native(data, work_side)
    if decoded.ndim == 3:  # shrink the gray copy, not three channels; colour is only needed small
        gray = _fit(cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY), work_side)
        small = _shrink_by_integer(decoded, COLOUR_SIDE)
        if bgr:  # only the small copy is turned to RGB
            small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        small_gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    else:
        gray = _fit(decoded, work_side)
        small = small_gray = _shrink_by_integer(gray, COLOUR_SIDE)
    scale = gray.shape[1] / width
    plain, dihedral = perceptual_hashes(small_gray)
    keypoints, descriptors = local_features(gray, scale, max_keypoints)
    stats = image_stats(gray, gray)
    stats["colourfulness"] = colourfulness(small) if small.ndim == 3 else 0.0
    return Description(
        digest=digest,
        width=width,
        height=height,
        mode=mode,
        scale=scale,
        stats=stats,
        phash=plain,
        dhash=dihedral,
        keypoints=keypoints,
        descriptors=descriptors,
        thumbnail=thumbnail(small),
    )
