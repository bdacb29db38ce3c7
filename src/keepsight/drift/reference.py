"""The reference profile: what the training split of a dataset version looks like.

    <dataset>/.keepsight/drift/<version>/
        reference.npz    per-image statistics, appearance embeddings, the scene image and the
                         training images' own registrations onto it (numpy arrays, no pickle)
        reference.json   version, creation time, sizes, thresholds derived from training
        scene.png        the scene image, for people and reports

Built from the samples whose split is ``train``; stored with the version label
(``keepsight.versions``' latest version, or "unversioned"). A profile whose training set no
longer matches the catalog (its fingerprint differs) is rebuilt by :func:`reference_for`.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from keepsight import __version__
from keepsight.config import STATE_DIR
from keepsight.dataset import Dataset
from keepsight.drift import lineage, scene
from keepsight.drift.config import STATISTICS, DriftConfig, ReferenceConfig
from keepsight.drift.features import image_features
from keepsight.drift.scene import Registration
from keepsight.errors import DatasetError, ImageError
from keepsight.parallel import map_in_processes
from keepsight.runs import fingerprint
from keepsight.storage.blobs import atomic_write_bytes
from keepsight.storage.catalog.rows import now

Progress = Callable[[int, int], None]
FEATURES_VERSION = 1  # bump when features.py or scene.py change what they compute
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def drift_dir(ds: Dataset) -> Path:
    return ds.root / STATE_DIR / "drift"


def reference_dir(ds: Dataset, version: str) -> Path:
    name = version if _SAFE.match(version) else "v-" + fingerprint([version])[:16]
    return drift_dir(ds) / name


def nearest(queries: np.ndarray, points: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean nearest neighbour of each query among ``points`` (numpy, in blocks: a single query costs
    microseconds, where a tree or thread-pooled search costs milliseconds)."""
    q = np.asarray(queries, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    pp = np.sum(p * p, axis=1)
    dist = np.empty(len(q))
    idx = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), 1024):
        block = q[start:start + 1024]
        d2 = np.sum(block * block, axis=1)[:, None] + pp[None, :] - 2.0 * block @ p.T
        if exclude_self:
            d2[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        best = np.argmin(d2, axis=1)
        idx[start:start + len(block)] = best
        dist[start:start + len(block)] = np.sqrt(np.maximum(d2[np.arange(len(block)), best], 0.0))
    return dist, idx


@dataclass
class ReferenceProfile:
    version: str
    created_at: str
    fingerprint: str
    digests: list[str]
    paths: list[str]
    labels: list[list[str]]  # per training image: its annotation labels and verdict
    stat_names: list[str]
    stats: np.ndarray  # (N, S) float64
    embeddings: np.ndarray  # (N, D) float32
    novelty_loo: np.ndarray  # (N,) each training image's distance to its nearest other training image
    original_size: tuple[int, int]  # (width, height) of the scene's training images
    scene: np.ndarray | None = None  # uint8 (h, w), None when training has no common scene
    scene_geometry: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # (M, 4) dx, dy, rotation, scale
    scene_quality: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (M,)

    # -- derived -----------------------------------------------------------------------

    @property
    def scene_applicable(self) -> bool:
        return (self.scene is not None and len(self.scene_quality) > 0
                and float(np.median(self.scene_quality)) >= scene.SCENE_MIN_QUALITY)

    @property
    def scene_floor(self) -> float:
        return scene.registered_floor(self.scene_quality)

    @property
    def px_per_scene_px(self) -> float:
        """Original-image pixels per scene pixel."""
        return self.original_size[0] / self.scene.shape[1] if self.scene is not None else 1.0

    def stat(self, name: str) -> np.ndarray:
        return self.stats[:, self.stat_names.index(name)]

    def novelty_threshold(self, quantile: float) -> float:
        return float(np.quantile(self.novelty_loo, quantile))

    def novelty(self, embeddings: np.ndarray) -> np.ndarray:
        """Distance of each embedding to its nearest training embedding."""
        return self.nearest_training(embeddings)[0]

    def nearest_training(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance, row) of the nearest training embedding for each query (exact, brute force)."""
        return nearest(np.atleast_2d(embeddings), self.embeddings)

    def register(self, gray: np.ndarray) -> Registration | None:
        """The image's registration onto the scene in original-image pixels; None when geometry does not apply."""
        if not self.scene_applicable or self.scene is None:
            return None
        resized = scene.to_scene(gray, self.scene.shape)
        if resized is None:
            return scene.FAILED
        reg = scene.register(self.scene, resized)
        k = self.px_per_scene_px
        return Registration(reg.dx * k, reg.dy * k, reg.rotation, reg.scale, reg.quality)

    def baseline_geometry(self) -> np.ndarray:
        """Training registrations (original pixels) that count as registered."""
        if not len(self.scene_quality):
            return np.zeros((0, 4))
        ok = self.scene_quality >= self.scene_floor
        geo = self.scene_geometry[ok].copy()
        geo[:, :2] *= self.px_per_scene_px
        return geo

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "images": len(self.digests),
            "fingerprint": self.fingerprint,
            "original_size": list(self.original_size),
            "scene": {
                "applicable": self.scene_applicable,
                "images": int(len(self.scene_quality)),
                "median_quality": float(np.median(self.scene_quality)) if len(self.scene_quality) else None,
                "registered_floor": self.scene_floor if self.scene_applicable else None,
            },
            "statistics": {name: {"median": float(np.median(self.stat(name))),
                                  "p05": float(np.quantile(self.stat(name), 0.05)),
                                  "p95": float(np.quantile(self.stat(name), 0.95))} for name in self.stat_names},
            "novelty_loo_p99": self.novelty_threshold(0.99),
        }

    # -- persistence ---------------------------------------------------------------------

    def save(self, ds: Dataset) -> Path:
        folder = reference_dir(ds, self.version)
        buf = io.BytesIO()
        arrays: dict[str, np.ndarray] = {
            "stats": self.stats, "embeddings": self.embeddings, "novelty_loo": self.novelty_loo,
            "scene_geometry": self.scene_geometry, "scene_quality": self.scene_quality,
        }
        if self.scene is not None:
            arrays["scene"] = self.scene
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(folder / "reference.npz", buf.getvalue())
        meta = {"keepsight_version": __version__, "features_version": FEATURES_VERSION, "version": self.version,
                "created_at": self.created_at, "fingerprint": self.fingerprint, "digests": self.digests,
                "paths": self.paths, "labels": self.labels, "stat_names": self.stat_names,
                "original_size": list(self.original_size), "summary": self.summary()}
        if self.scene is not None:
            ok, png = cv2.imencode(".png", self.scene)
            if ok:
                atomic_write_bytes(folder / "scene.png", png.tobytes())
        atomic_write_bytes(folder / "reference.json", json.dumps(meta, indent=1).encode("utf-8"))
        return folder


def load_reference(ds: Dataset, version: str | None = None) -> ReferenceProfile | None:
    """The stored profile of ``version`` (default: the dataset's current version), or None."""
    version = version or lineage.dataset_version(ds)
    folder = reference_dir(ds, version)
    meta_path, arrays_path = folder / "reference.json", folder / "reference.npz"
    if not meta_path.exists() or not arrays_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"corrupt drift reference: {exc}", path=meta_path) from None
    if meta.get("features_version") != FEATURES_VERSION:
        return None  # computed by another keepsight: rebuild
    with np.load(arrays_path) as z:
        return ReferenceProfile(
            version=meta["version"], created_at=meta["created_at"], fingerprint=meta["fingerprint"],
            digests=meta["digests"], paths=meta["paths"], labels=meta["labels"], stat_names=meta["stat_names"],
            stats=z["stats"], embeddings=z["embeddings"], novelty_loo=z["novelty_loo"],
            original_size=(int(meta["original_size"][0]), int(meta["original_size"][1])),
            scene=z["scene"] if "scene" in z.files else None,
            scene_geometry=z["scene_geometry"], scene_quality=z["scene_quality"],
        )


# -- building ------------------------------------------------------------------------------


@dataclass
class _TrainImage:
    digest: str
    path: str
    width: int
    height: int
    labels: list[str]


def _training_images(ds: Dataset) -> list[_TrainImage]:
    out = []
    for sample, annotations in ds.samples_with_annotations():
        if sample.split != "train":
            continue
        labels = sorted({a.label for a in annotations} | ({sample.verdict} if sample.verdict else set()))
        out.append(_TrainImage(sample.blob, sample.path, sample.width, sample.height, labels))
    return out


def _fingerprint(images: list[_TrainImage], config: ReferenceConfig) -> str:
    return fingerprint([FEATURES_VERSION, sorted(i.digest for i in images), config.model_dump()])


def _feature_task(task: tuple[str, str | bytes, tuple[int, int] | None]) -> tuple[str, Any, str | None]:
    digest, source, shape = task
    try:
        data = Path(source).read_bytes() if isinstance(source, str) else source
        feats = image_features(data, digest=digest)
    except (ImageError, OSError) as exc:
        return digest, None, str(exc)
    gray = scene.to_scene(feats.gray, shape) if shape is not None else None
    return digest, (feats.stats, feats.embedding, gray), None


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _run_tasks(tasks: list[tuple[str, str | bytes, tuple[int, int] | None]], workers: int,
               ) -> Iterator[tuple[str, Any, str | None]]:
    if workers <= 1 or len(tasks) < 16:
        yield from (_feature_task(t) for t in tasks)
        return
    yield from map_in_processes(_feature_task, tasks, workers=workers, initializer=_init_worker)


def build_reference(ds: Dataset, *, config: DriftConfig | None = None, progress: Progress | None = None,
                    workers: int | None = None) -> ReferenceProfile:
    """Profile the training split, save it under the dataset version, and return it."""
    config = config or ds.config.drift
    rcfg = config.reference
    images = _training_images(ds)
    if len(images) < 5:
        raise DatasetError(f"a drift reference needs at least 5 training images (split 'train'), found {len(images)}; "
                           "assign splits first (keepsight split)", path=ds.root)
    train_fingerprint = _fingerprint(images, rcfg)
    rng = np.random.default_rng(rcfg.seed)
    if len(images) > rcfg.max_images:
        images = [images[i] for i in sorted(rng.choice(len(images), rcfg.max_images, replace=False))]
    (width, height), _ = Counter((i.width, i.height) for i in images).most_common(1)[0]
    shape = scene.scene_shape(width, height, min(rcfg.align_side, max(width, height)))
    scene_pick = set(rng.permutation(len(images))[: rcfg.scene_images].tolist())
    tasks = []
    for k, im in enumerate(images):
        local = ds.blobs.local_path(im.digest)
        source: str | bytes = str(local) if local is not None else ds.blobs.get(im.digest)
        tasks.append((im.digest, source, shape if k in scene_pick else None))
    workers = workers or ds.config.ingest.workers or os.cpu_count() or 1
    stats, embeddings, kept, grays, failures = [], [], [], [], []
    for done, (digest, result, error) in enumerate(_run_tasks(tasks, workers), start=1):
        if result is None:
            failures.append(f"{digest[:12]}: {error}")
        else:
            s, emb, gray = result
            stats.append([s[name] for name in STATISTICS])
            embeddings.append(emb)
            kept.append(images[done - 1])
            if gray is not None:
                grays.append(gray)
        if progress:
            progress(done, len(tasks))
    if len(kept) < 5:
        raise DatasetError(f"only {len(kept)} training images could be decoded ({'; '.join(failures[:3])})",
                           path=ds.root)
    emb = np.stack(embeddings).astype(np.float32)
    loo, _ = nearest(emb, emb, exclude_self=True)
    profile = ReferenceProfile(
        version=lineage.dataset_version(ds),
        created_at=now().isoformat(),
        fingerprint=train_fingerprint,
        digests=[i.digest for i in kept],
        paths=[i.path for i in kept],
        labels=[i.labels for i in kept],
        stat_names=list(STATISTICS),
        stats=np.asarray(stats, dtype=np.float64),
        embeddings=emb,
        novelty_loo=loo,
        original_size=(width, height),
    )
    if len(grays) >= 3:
        profile.scene = scene.median_scene(grays)
        regs = [scene.register(profile.scene, g) for g in grays]
        profile.scene_geometry = np.array([r.as_row() for r in regs], dtype=np.float64)
        profile.scene_quality = np.array([r.quality for r in regs], dtype=np.float64)
    profile.save(ds)
    return profile


def reference_for(ds: Dataset, *, config: DriftConfig | None = None, progress: Progress | None = None,
                  rebuild: bool = False) -> ReferenceProfile:
    """The current version's profile: loaded when it still matches the training split, else (re)built."""
    config = config or ds.config.drift
    if not rebuild:
        profile = load_reference(ds)
        if profile is not None and profile.fingerprint == _fingerprint(_training_images(ds), config.reference):
            return profile
    return build_reference(ds, config=config, progress=progress)
