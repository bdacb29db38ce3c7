"""PCA-whitening of global descriptors, learned on the dataset (Jegou and Chum, ECCV 2012).

A VLAD vector has 64 x 256 = 16,384 dimensions: 64 KB per image, far too much for 10^6
images. Projected on its first principal components and whitened (each component divided by
the square root of its variance), it shrinks to ``DIMENSIONS`` floats and retrieves better:
whitening down-weights the directions that every image on one fixture shares.

Whitening is partial (``WHITEN_POWER``): each component is divided by its standard deviation
to the power 0.5, not 1. Fully whitened, the weakest of the 128 components (learned on a few
hundred images, so mostly noise) weigh as much as the strongest, and a re-capture's small changes
(blur, noise, a crop) move it as far as a look-alike. Square-root whitening ranks more of the
benchmark's re-captures among an image's 16 nearest neighbours on all three seeds: 2 / 2 / 4
positives outside them on seeds 0 / 1 / 2 instead of 5 / 3 / 7 (96 or 160 dimensions and powers
0.25-0.6 were no better; docs/similarity.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMENSIONS = 128
WHITEN_POWER = 0.5  # components are divided by (standard deviation) ** WHITEN_POWER: 1 = full whitening
MIN_TRAIN_PER_DIMENSION = 2  # fewer training vectors than 2 per dimension: keep fewer dimensions
MIN_DIMENSIONS = 16  # below this the raw vectors are kept (tiny datasets: the search is exact anyway)


@dataclass
class Projection:
    mean: np.ndarray  # (D,)
    components: np.ndarray  # (d, D), rows already divided by sqrt(variance) ** WHITEN_POWER

    @property
    def dimensions(self) -> int:
        return int(self.components.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Project, whiten and L2-normalise (N, D) -> (N, d) float32."""
        out = (np.asarray(vectors, np.float32) - self.mean) @ self.components.T
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0).astype(np.float32)


def fit_projection(
    vectors: np.ndarray, dimensions: int = DIMENSIONS, *, seed: int = 0, power: float = WHITEN_POWER
) -> Projection | None:
    """The whitening PCA of ``vectors`` (N, D); None when there are too few to learn one.

    Exact, from the eigenvectors of the N x N Gram matrix when N < D (VLAD: 16,384 dimensions,
    at most a few thousand training images): one matrix product, half the time of a randomized
    SVD at 480 images. ``seed`` only matters for the randomized SVD used when N >= D.
    """
    return fit_and_project(vectors, dimensions, seed=seed, power=power)[0]


def fit_and_project(
    vectors: np.ndarray, dimensions: int = DIMENSIONS, *, seed: int = 0, power: float = WHITEN_POWER
) -> tuple[Projection | None, np.ndarray | None]:
    """``fit_projection`` and, when it comes for free, ``projection.apply(vectors)`` (else None).

    From the Gram matrix the training vectors' whitened coordinates come from the eigenvectors
    (centred @ V_i / variance_i ** (power / 2) = u_i * S_i ** (1 - power) * (N - 1) ** (power / 2)):
    no (N, D) x (D, d) product.
    """
    dims = min(dimensions, len(vectors) // MIN_TRAIN_PER_DIMENSION, vectors.shape[1])
    if dims < MIN_DIMENSIONS:
        return None, None
    x = np.asarray(vectors, np.float32)
    if len(x) >= x.shape[1]:
        return _fit_randomized(x, dims, seed, power), None
    mean = x.mean(axis=0)
    centred = x - mean
    # centred = U S V^T: the Gram matrix's eigenvectors are U and its eigenvalues S^2, so the
    # principal axes are V = centred^T U / S, with variance S^2 / (N - 1) each
    eigenvalues, u = np.linalg.eigh(centred @ centred.T)
    top = np.argsort(eigenvalues)[::-1][:dims]
    eigenvalues, u = np.maximum(eigenvalues[top], 1e-12), u[:, top]
    # whitened axes: V_i / variance_i ** (power / 2) = centred^T u_i * (N - 1) ** (power / 2) / S_i ** (1 + power)
    singular = np.sqrt(eigenvalues)
    components = (u * ((len(x) - 1) ** (power / 2) / singular ** (1 + power))).T @ centred
    projection = Projection(mean=mean.astype(np.float32), components=components.astype(np.float32))
    coords = u * singular ** (1 - power)  # apply() L2-normalises: the constant factor cancels
    norms = np.linalg.norm(coords, axis=1, keepdims=True)
    projected = np.divide(coords, norms, out=np.zeros_like(coords), where=norms > 0).astype(np.float32)
    return projection, projected


def _fit_randomized(x: np.ndarray, dims: int, seed: int, power: float = WHITEN_POWER) -> Projection:
    from sklearn.decomposition import PCA  # imported here: importing scikit-learn costs seconds

    pca = PCA(n_components=dims, whiten=True, svd_solver="randomized", random_state=seed)
    pca.fit(x)
    scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12)) ** power
    return Projection(
        mean=pca.mean_.astype(np.float32), components=(pca.components_ / scale[:, None]).astype(np.float32)
    )
