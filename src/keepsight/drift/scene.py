"""The reference scene (median of the aligned training images) and registering an image onto it.

A fixed inspection camera sees the same scene in every image, so a moved camera shows as a
consistent transform between production images and the training scene. Registration is
dense, which survives the repetitive textures (threads, tracks) where feature matching
locks onto the wrong period: phase correlation gives the translation, then ECC
(``cv2.findTransformECC``, zero-mean normalised so brightness changes do not matter) refines
a full affine transform, reported as translation of the image centre, rotation and scale.

Conventions: ``dx``/``dy`` are how far the scene content moved in the image (pixels, x right,
y down); ``rotation`` is in degrees, counter-clockwise on screen positive; ``scale`` > 1 means
the content looks larger (closer camera or zoom). Training images that do not share one scene
(textures, varied crops) give poor registrations, and geometry is then reported as not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SCENE_MIN_QUALITY = 0.5  # median ECC correlation of training images below this: no common scene
ASPECT_TOLERANCE = 0.05  # images framed differently from the scene are not registered
# A camera that moved further than this shows another view: treat the fit as a failed match.
MAX_SCALE_CHANGE = 0.25
MAX_ROTATION = 20.0
_ANCHOR_SIDE = 64
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-4)


@dataclass(frozen=True)
class Registration:
    dx: float
    dy: float
    rotation: float
    scale: float
    quality: float  # ECC correlation coefficient; 0 when registration failed

    def as_row(self) -> list[float]:
        return [self.dx, self.dy, self.rotation, self.scale]


FAILED = Registration(0.0, 0.0, 0.0, 1.0, 0.0)


def scene_shape(width: int, height: int, side: int) -> tuple[int, int]:
    """(height, width) of the scene for images of ``width`` x ``height``, long side ``side``."""
    ratio = side / max(width, height)
    return max(8, round(height * ratio)), max(8, round(width * ratio))


def to_scene(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """``gray`` resized to the scene shape, or None when its aspect ratio is not the scene's."""
    h, w = gray.shape[:2]
    if abs((w / h) / (shape[1] / shape[0]) - 1.0) > ASPECT_TOLERANCE:
        return None
    return cv2.resize(gray, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _hanning(shape: tuple[int, int]) -> np.ndarray:
    return cv2.createHanningWindow((shape[1], shape[0]), cv2.CV_32F)


def median_scene(images: list[np.ndarray]) -> np.ndarray:
    """Translate every image onto an anchor (the one closest to the pixel median) and take the pixel median."""
    if not images:
        raise ValueError("no images to build a scene from")
    shape = images[0].shape
    small = np.stack([cv2.resize(im, (_ANCHOR_SIDE, _ANCHOR_SIDE), interpolation=cv2.INTER_AREA) for im in images])
    rough = np.median(small, axis=0)
    anchor = images[int(np.argmin(np.abs(small.astype(np.float32) - rough).sum(axis=(1, 2))))].astype(np.float32)
    window = _hanning(shape)
    aligned = []
    for im in images:
        (sx, sy), _ = cv2.phaseCorrelate(anchor, im.astype(np.float32), window)
        shift = np.array([[1, 0, -sx], [0, 1, -sy]], dtype=np.float32)
        aligned.append(cv2.warpAffine(im, shift, (shape[1], shape[0]), borderMode=cv2.BORDER_REFLECT))
    return np.median(np.stack(aligned), axis=0).astype(np.uint8)


def register(scene: np.ndarray, image: np.ndarray) -> Registration:
    """The transform taking ``scene`` content to where it appears in ``image`` (both the scene's shape)."""
    ref = scene.astype(np.float32)
    img = image.astype(np.float32)
    if float(img.std()) < 1e-3:
        return FAILED
    (sx, sy), _ = cv2.phaseCorrelate(ref, img, _hanning(ref.shape))
    warp = np.array([[1, 0, sx], [0, 1, sy]], dtype=np.float32)
    try:
        # (the OpenCV stubs lack the overload with no mask and a Gaussian pre-filter size)
        quality, warp = cv2.findTransformECC(ref, img, warp, cv2.MOTION_AFFINE, _ECC_CRITERIA, None, 5)  # type: ignore[call-overload]
    except cv2.error:  # ECC did not converge: the image does not show the scene
        return FAILED
    linear = warp[:, :2].astype(np.float64)
    u, _, vt = np.linalg.svd(linear)
    rotation_matrix = u @ vt  # nearest rotation (polar decomposition) to the affine part
    centre = np.array([ref.shape[1] / 2.0, ref.shape[0] / 2.0])
    moved = linear @ centre + warp[:, 2] - centre
    reg = Registration(
        dx=float(moved[0]),
        dy=float(moved[1]),
        rotation=float(-np.degrees(np.arctan2(rotation_matrix[1, 0], rotation_matrix[0, 0]))),
        scale=float(np.sqrt(abs(np.linalg.det(linear)))),
        quality=float(quality),
    )
    if abs(reg.scale - 1.0) > MAX_SCALE_CHANGE or abs(reg.rotation) > MAX_ROTATION:
        return FAILED
    return reg


def registered_floor(qualities: np.ndarray) -> float:
    """The ECC quality an image needs to count as showing the training scene."""
    return float(np.clip(np.quantile(qualities, 0.01) - 0.1, 0.3, 0.9)) if len(qualities) else 0.9
