"""The default global descriptor: VLAD over the ORB descriptors, codebook learned on the dataset.

Nothing is downloaded. ORB's 256 bits are read as a 0/1 vector; k-means (FAISS) gives the
codebook; an image is the sum of its residuals per visual word, intra-normalised,
power-normalised (signed square root) and L2-normalised, so inner product = cosine. ORB is
rotation invariant, so the VLAD of a rotated capture stays close to the original's.
"""

from __future__ import annotations

import faiss
import numpy as np

CODEBOOK_SIZE = 64
BITS = 256  # an ORB descriptor read as a 0/1 vector


def unpack(descriptors: np.ndarray) -> np.ndarray:
    return np.unpackbits(descriptors, axis=1).astype(np.float32)


def train_codebook(
    descriptor_sets: list[np.ndarray],
    k: int = CODEBOOK_SIZE,
    *,
    per_image: int = 50,
    limit: int = 200_000,
    seed: int = 0,
    niter: int = 20,
) -> np.ndarray:
    """k-means centroids (k, 256) from a sample of every image's descriptors."""
    rng = np.random.default_rng(seed)
    parts = []
    for des in descriptor_sets:
        if len(des) > per_image:
            des = des[rng.choice(len(des), per_image, replace=False)]
        parts.append(des)
    data = np.concatenate(parts) if parts else np.zeros((0, 32), np.uint8)
    if len(data) > limit:
        data = data[rng.choice(len(data), limit, replace=False)]
    vectors = unpack(data)
    if len(vectors) < k:  # tiny datasets: pad with random bit vectors so k-means still has k points
        vectors = np.concatenate([vectors, rng.integers(0, 2, (k - len(vectors), BITS)).astype(np.float32)])
    km = faiss.Kmeans(BITS, k, niter=niter, seed=seed, verbose=False, min_points_per_centroid=1)
    km.train(np.ascontiguousarray(vectors))
    return np.asarray(km.centroids, dtype=np.float32)


def encode(descriptors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """One L2-normalised VLAD vector (k * 256,) for one set of ORB descriptors."""
    k = len(codebook)
    out = np.zeros((k, BITS), np.float32)
    if len(descriptors):
        x = unpack(descriptors)
        # nearest centroid by squared distance; x.x is constant per row so it can be dropped
        assign = np.argmin((codebook * codebook).sum(1)[None, :] - 2.0 * x @ codebook.T, axis=1)
        # residual sums per visual word: sum of its descriptors minus count x centroid
        from keepsight.descriptors.kernels import bit_sums  # numba loads when descriptors are encoded

        sums, counts = bit_sums(descriptors, assign, k)
        out = sums - counts[:, None] * codebook
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    flat = out.ravel()
    flat = np.sign(flat) * np.sqrt(np.abs(flat))
    norm = np.linalg.norm(flat)
    return flat / norm if norm > 0 else flat
