"""The global-descriptor index of a dataset, kept under ``.keepsight/similarity/global-<backend>/``.

    base.npz          digests (N,), vectors (N, d) float32, the VLAD codebook and whitening PCA
    part-000001.npz   digests and vectors added since base.npz was written (one file per add)
    ivf.faiss         the FAISS IVF index of base.npz's rows (large indexes only)

Vectors are the global descriptors after the dataset-learned whitening PCA (VLAD: 16,384 -> 128
floats), L2-normalised, so inner product = cosine. Incremental: digests already in the index are
never encoded again; new ones are encoded with the stored codebook and projection, appended in
memory and written as a small part file (an add costs milliseconds, not a rewrite of the whole
index); parts are folded into ``base.npz`` once they add up to a quarter of it.

Search is FAISS: exact inner product below ``IVF_FROM`` vectors, above it an inverted file with
8-bit scalar quantisation (``IndexIVFScalarQuantizer``, ``nlist`` ~ sqrt(N), ``NPROBE`` lists
probed): sub-quadratic, and 10^6 images take ~130 MB of codes (benchmarks/bench_similarity_scale.py).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from keepsight.config import STATE_DIR
from keepsight.descriptors import vlad
from keepsight.descriptors.compute import Description
from keepsight.descriptors.reduce import WHITEN_POWER, Projection, fit_and_project
from keepsight.storage.blobs import atomic_write_bytes

IVF_FROM = 100_000  # below this an exact flat scan is fast enough and has perfect recall
NPROBE = 32
TRAIN_IMAGES = 3000  # images whose descriptors train the VLAD codebook and the projection
# k-means iterations for the codebook: 10 instead of 20 halve its cost (which a dataset of a few
# hundred images pays in full); recall on the benchmark's tuning seed 0 and on seed 1 did not drop
CODEBOOK_ITERATIONS = 10
RETRAIN_GROWTH = 4  # retrain once the dataset is this many times larger than the training set (< TRAIN_IMAGES)
_MAX_PARTS = 1000  # then the parts are folded into base.npz (a rewrite of the whole index)


def similarity_dir(root: Path) -> Path:
    return root / STATE_DIR / "similarity"


def _folder(root: Path, backend: str) -> Path:
    return similarity_dir(root) / f"global-{backend}"


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **arrays as allow_pickle
    return buf.getvalue()


@dataclass
class GlobalIndex:
    backend: str
    digests: list[str]
    vectors: np.ndarray
    codebook: np.ndarray | None = None
    projection: Projection | None = None
    trained_on: int = 0  # images the codebook and projection were learned from
    whiten_power: float = WHITEN_POWER  # of the projection (indexes written before it was stored: 1)
    _faiss: faiss.Index | None = None
    _row: dict[str, int] | None = None
    _saved: int = 0  # rows already on disk
    _parts: int = 0  # part files on disk
    _base_rows: int = 0  # rows in base.npz (and in ivf.faiss, when there is one)
    _loaded_ivf: bytes | None = field(default=None, repr=False)
    _buffer: np.ndarray | None = field(default=None, repr=False)  # vectors is a view of its first rows

    @property
    def row(self) -> dict[str, int]:
        if self._row is None or len(self._row) != len(self.digests):
            self._row = {d: i for i, d in enumerate(self.digests)}
        return self._row

    def require_codebook(self) -> np.ndarray:
        if self.codebook is None:
            raise ValueError(f"the {self.backend} index has no codebook")
        return self.codebook

    def encode(self, descriptor_sets: Sequence[np.ndarray]) -> np.ndarray:
        """Global vectors (N, d) for sets of ORB descriptors: VLAD, then the whitening projection."""
        codebook = self.require_codebook()
        if not len(descriptor_sets):
            return np.zeros((0, self.vectors.shape[1]), np.float32)
        return self.project(np.stack([vlad.encode(des, codebook) for des in descriptor_sets]))

    def project(self, raw: np.ndarray) -> np.ndarray:
        """Raw global vectors (N, D) through the whitening projection, when there is one."""
        if self.projection is None:
            return raw.astype(np.float32)
        out = self.projection.apply(raw)
        out[~raw.any(axis=1)] = 0.0  # no keypoints: no direction (the mean's projection would be one)
        return out

    def add(self, digests: Sequence[str], vectors: np.ndarray) -> None:
        """Append rows; the vector buffer grows by doubling, so adding N rows in chunks costs O(N)."""
        if not len(digests):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n = len(self.digests)
        if not n:
            self._buffer = vectors.copy()
        else:
            if self._buffer is None or len(self._buffer) < n + len(vectors):
                grown = np.empty((max(2 * n, n + len(vectors)), vectors.shape[1]), np.float32)
                grown[:n] = self.vectors
                self._buffer = grown
            self._buffer[n : n + len(vectors)] = vectors
        self.vectors = self._buffer[: n + len(vectors)]
        self.digests.extend(digests)
        if self._faiss is not None:
            self._faiss.add(vectors)

    def faiss_index(self) -> faiss.Index:
        if self._faiss is None:
            index = None
            if self._loaded_ivf is not None:
                index = faiss.deserialize_index(np.frombuffer(self._loaded_ivf, np.uint8))
                self._loaded_ivf = None
                if index.ntotal == self._base_rows:
                    index.add(np.ascontiguousarray(self.vectors[self._base_rows :]))
                else:  # written by an interrupted compaction: rebuild
                    index = None
            self._faiss = index if index is not None else build_faiss_index(self.vectors)
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
        """Write what is not on disk yet: a small part file, or a new base once parts pile up."""
        folder = _folder(root, self.backend)
        new = len(self.digests) - self._saved
        if new <= 0 and self._saved:
            return
        if self._saved == 0 or self._parts >= _MAX_PARTS or new > self._base_rows / 4:
            self._write_base(folder)
        else:
            self._parts += 1
            part = _npz_bytes(
                digests=np.array(self.digests[self._saved :], dtype="S64"), vectors=self.vectors[self._saved :]
            )
            atomic_write_bytes(folder / f"part-{self._parts:06d}.npz", part)
        self._saved = len(self.digests)

    def _write_base(self, folder: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "digests": np.array(self.digests, dtype="S64"),  # hex digests: 64 bytes each, not 256 as U64
            "vectors": self.vectors,
            "trained_on": np.array([self.trained_on]),
            "whiten_power": np.array([self.whiten_power]),
        }
        if self.codebook is not None:
            arrays["codebook"] = self.codebook
        if self.projection is not None:
            arrays["pca_mean"], arrays["pca_components"] = self.projection.mean, self.projection.components
        index: faiss.Index | None = self._faiss if isinstance(self._faiss, faiss.IndexIVF) else None
        if index is None and len(self.digests) >= IVF_FROM:
            index = self.faiss_index()
        if index is not None and index.ntotal == len(self.digests):
            atomic_write_bytes(folder / "ivf.faiss", faiss.serialize_index(index).tobytes())
        else:
            (folder / "ivf.faiss").unlink(missing_ok=True)
        atomic_write_bytes(folder / "base.npz", _npz_bytes(**arrays))
        for part in folder.glob("part-*.npz"):  # now inside base.npz (load skips duplicates if this is cut short)
            part.unlink()
        self._parts, self._base_rows = 0, len(self.digests)

    @classmethod
    def load(cls, root: Path, backend: str) -> GlobalIndex | None:
        folder = _folder(root, backend)
        if not (folder / "base.npz").exists():
            return None
        with np.load(folder / "base.npz") as z:
            projection = Projection(z["pca_mean"], z["pca_components"]) if "pca_mean" in z.files else None
            index = cls(
                backend=backend,
                digests=_strings(z["digests"]),
                vectors=z["vectors"],
                codebook=z["codebook"] if "codebook" in z.files else None,
                projection=projection,
                trained_on=int(z["trained_on"][0]),
                whiten_power=float(z["whiten_power"][0]) if "whiten_power" in z.files else 1.0,
            )
        index._base_rows = len(index.digests)
        parts = sorted(folder.glob("part-*.npz"))
        for part in parts:
            with np.load(part) as z:
                known = index.row
                names = _strings(z["digests"])
                keep = [i for i, d in enumerate(names) if d not in known]
                index.add([names[i] for i in keep], z["vectors"][keep])
        index._parts = int(parts[-1].stem.split("-")[1]) if parts else 0
        index._saved = len(index.digests)
        if (folder / "ivf.faiss").exists():
            index._loaded_ivf = (folder / "ivf.faiss").read_bytes()
        return index


def _strings(array: np.ndarray) -> list[str]:
    return [d.decode() if isinstance(d, bytes) else str(d) for d in array.tolist()]


def build_faiss_index(vectors: np.ndarray, *, seed: int = 0) -> faiss.Index:
    """Exact inner product for small sets; an IVF with 8-bit codes from ``IVF_FROM`` vectors on."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) < IVF_FROM:
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        return flat
    nlist = 2 ** round(math.log2(math.sqrt(len(vectors))))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), 40 * nlist), replace=False)]
    ivf.cp.seed = seed
    ivf.train(sample)
    ivf.add(vectors)
    ivf.nprobe = NPROBE
    return ivf


Loader = Callable[[str], Description]


def train_vlad(digests: Sequence[str], load: Loader, *, seed: int = 0) -> GlobalIndex:
    """A VLAD index with a codebook and projection learned on (a sample of) ``digests``; the sample is in it."""
    rng = np.random.default_rng(seed)
    sample = list(digests)
    if len(sample) > TRAIN_IMAGES:
        sample = [sample[i] for i in sorted(rng.choice(len(sample), TRAIN_IMAGES, replace=False))]
    descriptor_sets = [load(d).descriptors for d in sample]
    codebook = vlad.train_codebook(descriptor_sets, seed=seed, niter=CODEBOOK_ITERATIONS)
    raw = np.stack([vlad.encode(des, codebook) for des in descriptor_sets]) if descriptor_sets else None
    projection, projected = fit_and_project(raw, seed=seed) if raw is not None else (None, None)
    dim = projection.dimensions if projection is not None else len(codebook) * vlad.BITS
    index = GlobalIndex("vlad", [], np.zeros((0, dim), np.float32), codebook, projection, trained_on=len(sample))
    if raw is not None:
        if projected is None:
            projected = index.project(raw)
        else:  # as project(): no keypoints, no direction
            projected[~raw.any(axis=1)] = 0.0
        index.add(sample, projected)
    return index


def vlad_index(root: Path, digests: Sequence[str], load: Loader, *, retrain: bool = False) -> GlobalIndex:
    """The VLAD index over ``digests``: loaded, extended with the new ones, saved.

    The codebook and projection are learned once; while the training set was small (fewer than
    ``TRAIN_IMAGES``) they are learned again when the dataset has grown ``RETRAIN_GROWTH`` times,
    and so is a projection whitened otherwise than ``WHITEN_POWER`` says (an older index).
    """
    digests = list(dict.fromkeys(digests))
    index = None if retrain else GlobalIndex.load(root, "vlad")
    grown = index is not None and index.trained_on < TRAIN_IMAGES and len(digests) >= RETRAIN_GROWTH * index.trained_on
    stale = index is not None and index.projection is not None and index.whiten_power != WHITEN_POWER
    if index is None or index.codebook is None or grown or stale:
        index = train_vlad(digests, load)
    new = [d for d in digests if d not in index.row]
    for start in range(0, len(new), 1000):
        chunk = new[start : start + 1000]
        index.add(chunk, index.encode([load(d).descriptors for d in chunk]))
    if len(index.digests) > index._saved:
        index.save(root)
    return index
