"""The global-descriptor index of a dataset, kept under ``.keepsight/similarity/``.

    global-<backend>.npz   digests (N,), vectors (N, D) float32, codebook (VLAD only)

Incremental: vectors of digests already in the file are never recomputed; new digests are
encoded with the stored codebook and appended. Search is FAISS inner product on
L2-normalised vectors (exact flat index; HNSW once the index is large).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from keepsight.config import STATE_DIR
from keepsight.descriptors import vlad
from keepsight.descriptors.compute import Description
from keepsight.storage.blobs import atomic_write_bytes

HNSW_FROM = 200_000  # below this an exact flat scan is fast enough and has perfect recall


def similarity_dir(root: Path) -> Path:
    return root / STATE_DIR / "similarity"


@dataclass
class GlobalIndex:
    backend: str
    digests: list[str]
    vectors: np.ndarray
    codebook: np.ndarray | None = None
    _faiss: faiss.Index | None = None
    _row: dict[str, int] | None = None

    @property
    def row(self) -> dict[str, int]:
        if self._row is None or len(self._row) != len(self.digests):
            self._row = {d: i for i, d in enumerate(self.digests)}
        return self._row

    def require_codebook(self) -> np.ndarray:
        if self.codebook is None:
            raise ValueError(f"the {self.backend} index has no codebook")
        return self.codebook

    def add(self, digests: Sequence[str], vectors: np.ndarray) -> None:
        if not len(digests):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.vectors = vectors if not len(self.digests) else np.concatenate([self.vectors, vectors])
        self.digests = [*self.digests, *digests]
        if self._faiss is not None:
            self._faiss.add(vectors)

    def faiss_index(self) -> faiss.Index:
        if self._faiss is None:
            dim = self.vectors.shape[1]
            if len(self.digests) >= HNSW_FROM:
                hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
                hnsw.hnsw.efSearch = 64
                index: faiss.Index = hnsw
            else:
                index = faiss.IndexFlatIP(dim)
            index.add(np.ascontiguousarray(self.vectors, dtype=np.float32))
            self._faiss = index
        return self._faiss

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row indices), -1 where fewer than k rows exist."""
        if not self.digests:
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        k = min(k, len(self.digests))
        return self.faiss_index().search(np.ascontiguousarray(queries, dtype=np.float32), k)

    # -- persistence -------------------------------------------------------------------

    def save(self, root: Path) -> None:
        buf = io.BytesIO()
        arrays = {"digests": np.array(self.digests, dtype="U64"), "vectors": self.vectors}
        if self.codebook is not None:
            arrays["codebook"] = self.codebook
        np.savez(buf, **arrays)
        atomic_write_bytes(similarity_dir(root) / f"global-{self.backend}.npz", buf.getvalue())

    @classmethod
    def load(cls, root: Path, backend: str) -> GlobalIndex | None:
        path = similarity_dir(root) / f"global-{backend}.npz"
        if not path.exists():
            return None
        with np.load(path) as z:
            return cls(
                backend=backend,
                digests=[str(d) for d in z["digests"]],
                vectors=z["vectors"],
                codebook=z["codebook"] if "codebook" in z.files else None,
            )


Loader = Callable[[str], Description]


def vlad_index(root: Path, digests: Sequence[str], load: Loader, *, retrain: bool = False) -> GlobalIndex:
    """The VLAD index over ``digests``: loaded, extended with the new ones, saved."""
    index = None if retrain else GlobalIndex.load(root, "vlad")
    if index is None or index.codebook is None:
        codebook = vlad.train_codebook([load(d).descriptors for d in digests])
        index = GlobalIndex("vlad", [], np.zeros((0, len(codebook) * 256), np.float32), codebook)
    new = [d for d in dict.fromkeys(digests) if d not in index.row]
    if new:
        codebook = index.require_codebook()
        index.add(new, np.stack([vlad.encode(load(d).descriptors, codebook) for d in new]))
        index.save(root)
    return index
