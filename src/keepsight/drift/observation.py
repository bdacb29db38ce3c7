"""One production image as drift monitoring sees it: features measured against the reference profile."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from keepsight.drift.features import Prediction, image_features
from keepsight.drift.reference import ReferenceProfile
from keepsight.drift.scene import Registration


@dataclass
class Observation:
    index: int  # position in the monitored stream, from 0
    name: str
    digest: str
    at: datetime
    stats: dict[str, float]
    embedding: np.ndarray
    novelty: float  # distance to the nearest training embedding
    registration: Registration | None  # None: the reference has no common scene
    prediction: Prediction | None
    thumbnail: bytes
    path: Path | None = None

    def registered(self, floor: float) -> bool:
        return self.registration is not None and self.registration.quality >= floor

    def as_dict(self, *, floor: float | None = None) -> dict[str, Any]:
        reg = self.registration
        out: dict[str, Any] = {
            "index": self.index, "name": self.name, "digest": self.digest, "at": self.at.isoformat(),
            "stats": {k: round(v, 4) for k, v in self.stats.items()}, "novelty": round(self.novelty, 4),
            "prediction": self.prediction.as_dict() if self.prediction else None,
        }
        if reg is not None:
            out["registration"] = {"dx": round(reg.dx, 2), "dy": round(reg.dy, 2), "rotation": round(reg.rotation, 3),
                                   "scale": round(reg.scale, 4), "quality": round(reg.quality, 4),
                                   "registered": floor is not None and reg.quality >= floor}
        return out

    def thumbnail_b64(self) -> str:
        return base64.b64encode(self.thumbnail).decode("ascii")


def observe_bytes(reference: ReferenceProfile, data: bytes, *, index: int, name: str, at: datetime,
                  prediction: Prediction | None = None, path: Path | None = None) -> Observation:
    feats = image_features(data)
    return Observation(
        index=index, name=name, digest=feats.digest, at=at, stats=feats.stats, embedding=feats.embedding,
        novelty=float(reference.novelty(feats.embedding)[0]), registration=reference.register(feats.gray),
        prediction=prediction, thumbnail=feats.thumbnail, path=path,
    )
