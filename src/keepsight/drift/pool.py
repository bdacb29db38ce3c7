"""Recent production images kept as annotation candidates (bounded), with where their bytes are.

Images observed from files are referenced by path; images handed over as bytes are spooled
to the monitoring run's folder while they stay in the pool and deleted when they leave it.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keepsight.drift.features import Prediction
from keepsight.drift.observation import Observation


@dataclass
class Candidate:
    index: int
    name: str
    digest: str
    embedding: np.ndarray
    novelty: float
    path: Path | None
    spooled: bool
    prediction: Prediction | None
    drifted: bool = False
    category: str | None = None


class CandidatePool:
    def __init__(self, limit: int, spool: Path) -> None:
        self.items: deque[Candidate] = deque()
        self.limit = limit
        self.spool = spool
        self._by_index: dict[int, Candidate] = {}
        self._spool_refs: dict[Path, int] = {}

    def add(self, obs: Observation, data: bytes | None) -> None:
        path, spooled = obs.path, False
        if path is None and data is not None:
            path = self.spool / f"{obs.digest}{_suffix(data)}"
            if path not in self._spool_refs:
                _write_scratch(path, data)
            self._spool_refs[path] = self._spool_refs.get(path, 0) + 1
            spooled = True
        item = Candidate(obs.index, obs.name, obs.digest, obs.embedding, obs.novelty, path, spooled, obs.prediction)
        self.items.append(item)
        self._by_index[obs.index] = item
        while len(self.items) > self.limit:
            self._evict(self.items.popleft())

    def _evict(self, item: Candidate) -> None:
        self._by_index.pop(item.index, None)
        if item.spooled and item.path is not None:
            self._spool_refs[item.path] -= 1
            if not self._spool_refs[item.path]:
                del self._spool_refs[item.path]
                item.path.unlink(missing_ok=True)

    def mark(self, first: int, last: int, category: str | None) -> None:
        """Images ``first..last`` of the stream belong to a window; flag them when it drifted."""
        if category is None:
            return
        for i in range(first, last + 1):
            item = self._by_index.get(i)
            if item is not None:
                item.drifted = True
                item.category = item.category or category

    def candidates(self, *, drifted_only: bool) -> list[Candidate]:
        items = list(self.items)
        drifted = [c for c in items if c.drifted]
        return drifted if drifted_only and drifted else items


def _write_scratch(path: Path, data: bytes) -> None:
    """Write-then-rename (never a half file under the final name) without fsync: the spool is scratch,
    lost with the process it serves, and an fsync per production image would cost more than the analysis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _suffix(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:2] in (b"II", b"MM"):
        return ".tif"
    if data.startswith(b"BM"):
        return ".bmp"
    return ".img"
