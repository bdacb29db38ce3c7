"""The next dataset version a retraining request proposes: images to add, to re-annotate, to remove.

* **add**: the production images selected for annotation (drifted and diverse).
* **re-annotate**: training images whose label conflicts with a confident prediction on a
  production image that looks the same (closer than training images typically are to each
  other): either the label or the model is wrong, and a person should look at the label.
* **remove**: training images unlike anything production has shown over the pool (farther
  from every production image than twice the 99th percentile of production images' distances
  to each other): conditions that no longer occur. Proposed only when few training images are
  affected; when most of the training set no longer looks like production, the fix is new
  data, not deletion, and the proposal says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from keepsight.drift.features import Prediction
from keepsight.drift.pool import Candidate
from keepsight.drift.reference import ReferenceProfile
from keepsight.drift.selection import Pick

CONFIDENT = 0.9  # predictions at least this sure can contradict a training label
# Each training image is judged alone (no test over a window), so it must be clearly beyond production's own
# spread: twice its 99th-percentile nearest-neighbour distance, not at the tail of it.
OBSOLETE_MARGIN = 2.0


def _re_annotate(reference: ReferenceProfile, pool: list[Candidate]) -> list[dict[str, Any]]:
    confident: list[tuple[Candidate, Prediction]] = []
    for c in pool:
        pred = c.prediction
        if pred is not None and pred.label is not None and (pred.confidence or 0.0) >= CONFIDENT:
            confident.append((c, pred))
    if not confident:
        return []
    close = float(np.median(reference.novelty_loo))
    dist, idx = reference.nearest_training(np.stack([c.embedding for c, _ in confident]))
    out: dict[str, dict[str, Any]] = {}
    for (c, pred), d, i in zip(confident, dist, idx, strict=True):
        labels, path = reference.labels[int(i)], reference.paths[int(i)]
        if d <= close and labels and pred.label not in labels and path not in out:
            out[path] = {
                "path": path, "digest": reference.digests[int(i)], "labels": labels,
                "production_image": c.name, "predicted": pred.label, "confidence": pred.confidence,
                "distance": float(d),
                "reason": f"looks like production image {c.name}, which the model calls {pred.label!r} "
                          f"({pred.confidence:.2f}); labelled {labels}",
            }
    return list(out.values())


def _remove(reference: ReferenceProfile, pool: list[Candidate], max_fraction: float, min_pool: int,
            notes: list[str]) -> list[dict[str, Any]]:
    if len(pool) < min_pool:
        notes.append(f"no removals proposed: {len(pool)} production images seen, {min_pool} needed "
                     "to call a training image obsolete")
        return []
    prod = np.stack([c.embedding for c in pool])
    own, _ = NearestNeighbors(n_neighbors=2).fit(prod).kneighbors(prod)
    threshold = OBSOLETE_MARGIN * float(np.quantile(own[:, 1], 0.99))
    to_prod, _ = NearestNeighbors(n_neighbors=1).fit(prod).kneighbors(reference.embeddings)
    obsolete = np.flatnonzero(to_prod[:, 0] > threshold)
    share = len(obsolete) / len(reference.digests)
    if share > max_fraction:
        notes.append(f"{share:.0%} of the training images no longer look like production: collect and annotate new "
                     "images rather than remove old ones (removals not proposed)")
        return []
    return [{"path": reference.paths[int(i)], "digest": reference.digests[int(i)],
             "distance": float(to_prod[int(i), 0]),
             "reason": f"unlike any of the last {len(pool)} production images (distance {to_prod[int(i), 0]:.3f} > "
                       f"{threshold:.3f})"} for i in obsolete]


def propose_next_version(reference: ReferenceProfile, pool: list[Candidate], candidates: list[Candidate],
                         picks: list[Pick], *, max_remove_fraction: float, min_pool_for_removal: int) -> dict[str, Any]:
    notes: list[str] = []
    add = [{"name": candidates[p.index].name, "digest": candidates[p.index].digest,
            "source": str(candidates[p.index].path) if candidates[p.index].path else None,
            "novelty": candidates[p.index].novelty, "coverage_gain": p.distance,
            "drifted": candidates[p.index].drifted, "category": candidates[p.index].category}
           for p in picks]
    if not add:
        notes.append("no production images to add: none observed since monitoring started")
    return {"base_version": reference.version, "add": add, "re_annotate": _re_annotate(reference, pool),
            "remove": _remove(reference, pool, max_remove_fraction, min_pool_for_removal, notes), "notes": notes}
