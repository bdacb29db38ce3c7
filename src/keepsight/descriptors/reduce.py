"""PCA-whitening of global descriptors, learned on the dataset (Jegou and Chum, ECCV 2012).

A VLAD vector has 64 x 256 = 16,384 dimensions: 64 KB per image, far too much for 10^6
images. Projected on its first principal components and whitened (each component divided by
the square root of its variance), it shrinks to ``DIMENSIONS`` floats and retrieves better:
whitening down-weights the directions that every image on one fixture shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMENSIONS = 128
MIN_TRAIN_PER_DIMENSION = 2  # fewer training vectors than 2 per dimension: keep fewer dimensions
MIN_DIMENSIONS = 16  # below this the raw vectors are kept (tiny datasets: the search is exact anyway)


@dataclass
class Projection:
    mean: np.ndarray  # (D,)
    components: np.ndarray  # (d, D), rows already divided by sqrt(variance)

    @property
    def dimensions(self) -> int:
        return int(self.components.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Project, whiten and L2-normalise (N, D) -> (N, d) float32."""
        out = (np.asarray(vectors, np.float32) - self.mean) @ self.components.T
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0).astype(np.float32)


def fit_projection(vectors: np.ndarray, dimensions: int = DIMENSIONS, *, seed: int = 0) -> Projection | None:
    """The whitening PCA of ``vectors`` (N, D); None when there are too few to learn one."""
    dims = min(dimensions, len(vectors) // MIN_TRAIN_PER_DIMENSION, vectors.shape[1])
    if dims < MIN_DIMENSIONS:
        return None
    from sklearn.decomposition import PCA  # imported here: importing scikit-learn costs seconds

    pca = PCA(n_components=dims, whiten=True, svd_solver="randomized", random_state=seed)
    pca.fit(np.asarray(vectors, np.float32))
    scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
    return Projection(
        mean=pca.mean_.astype(np.float32), components=(pca.components_ / scale[:, None]).astype(np.float32)
    )
