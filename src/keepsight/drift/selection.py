"""Which production images to annotate within a budget: drifted and diverse (k-center greedy).

The training embeddings start as the covered set, so the first pick is the production image
farthest from anything in training, and each next pick is the one farthest from training and
from everything picked so far (the core-set rule of Sener and Savarese, 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min


@dataclass(frozen=True)
class Pick:
    index: int  # row in the candidate matrix
    distance: float  # distance to the nearest covered point when it was picked (how much it adds)


def k_center_greedy(candidates: np.ndarray, budget: int, *, covered: np.ndarray | None = None) -> list[Pick]:
    """Greedy k-center over ``candidates`` (N, D), starting from ``covered`` (M, D) if given."""
    x = np.asarray(candidates, dtype=np.float64)
    if budget <= 0 or not len(x):
        return []
    if covered is not None and len(covered):
        _, nearest = pairwise_distances_argmin_min(x, np.asarray(covered, dtype=np.float64))
        nearest = nearest.astype(np.float64)
    else:
        nearest = np.full(len(x), np.inf)
    picks: list[Pick] = []
    for _ in range(min(budget, len(x))):
        best = int(np.argmax(nearest))
        if picks and nearest[best] <= 0:
            break  # only exact repeats of picked images remain
        picks.append(Pick(best, float(nearest[best]) if np.isfinite(nearest[best]) else 0.0))
        nearest = np.minimum(nearest, np.linalg.norm(x - x[best], axis=1))
    return picks


def select_for_annotation(embeddings: np.ndarray, budget: int, *, training: np.ndarray | None = None,
                          digests: list[str] | None = None) -> list[Pick]:
    """k-center picks over production embeddings, one per distinct image (by digest when given)."""
    rows = np.arange(len(embeddings))
    if digests is not None:
        first: dict[str, int] = {}
        for i, d in enumerate(digests):
            first.setdefault(d, i)
        rows = np.array(sorted(first.values()), dtype=np.int64)
    if not len(rows):
        return []
    picks = k_center_greedy(np.asarray(embeddings)[rows], budget, covered=training)
    return [Pick(int(rows[p.index]), p.distance) for p in picks]
