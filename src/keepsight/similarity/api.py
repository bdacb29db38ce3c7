"""find_similar / similar_to: candidates from FAISS and hashes, confirmed geometrically."""

from __future__ import annotations

import io
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from threadpoolctl import threadpool_limits

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import DESCRIBE_VERSION, Description, describe_bytes
from keepsight.descriptors.describe import Progress, describe_digests
from keepsight.descriptors.store import DescriptorStore, load_stats
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import REGION_KINDS
from keepsight.similarity.graph import Group, Pair, build_graph, groups_of, metadata_pairs, save_groups
from keepsight.similarity.index import GlobalIndex, similarity_dir, vlad_index
from keepsight.similarity.verify import (
    VERIFY_VERSION,
    Verification,
    VerifyParams,
    region_keypoints,
    verify_descriptions,
    verify_regions,
)
from keepsight.storage.blobs import atomic_write_bytes, digest_bytes

GlobalBackendLike = Any  # descriptors.backends.OnnxBackend | TorchScriptBackend (imported lazily)
METADATA_KEYS = ("part_serial", "object_id")
DEFAULT_PARAMS = VerifyParams()
REGION_PARAMS = VerifyParams(min_inliers=16, inlier_share=0.0, min_coverage=0.0)


@dataclass
class SimilarityResult:
    pairs: list[Pair]
    groups: list[Group]
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": [asdict(p) for p in self.pairs],
            "groups": [asdict(g) for g in self.groups],
            "stats": self.stats,
        }

    def group_of(self, sample_id: int) -> Group | None:
        return next((g for g in self.groups if sample_id in g.samples), None)


@dataclass
class Match:
    sample_id: int
    path: str
    reason: str  # exact | near | hash
    strength: float
    evidence: dict[str, Any] = field(default_factory=dict)


class _Cache:
    """Descriptions loaded on demand (a bounded LRU: 10^5 images do not fit in memory at once).

    ``put`` takes the descriptions the describe stage has just computed, so they are not read back.
    """

    def __init__(self, store: DescriptorStore, size: int = 4096) -> None:
        self.store = store
        self.size = size
        self.known: OrderedDict[str, Description] = OrderedDict()

    def get(self, digest: str) -> Description:
        desc = self.known.get(digest)
        if desc is None:
            desc = self.store.load(digest)
            self.put(desc)
        else:
            self.known.move_to_end(digest)
        return desc

    def put(self, desc: Description) -> None:
        self.known[desc.digest] = desc
        self.known.move_to_end(desc.digest)
        if len(self.known) > self.size:
            self.known.popitem(last=False)


def find_similar(
    ds: Dataset,
    *,
    k: int = 16,
    params: VerifyParams = DEFAULT_PARAMS,
    regions: bool = True,
    metadata_keys: tuple[str, ...] = METADATA_KEYS,
    progress: Progress | None = None,
    workers: int | None = None,
    backend: GlobalBackendLike | None = None,
) -> SimilarityResult:
    """Describe what is new, search candidates, verify them, and build and store the object groups.

    Incremental: old descriptions, index vectors and verified pairs are reused from disk.
    ``backend`` (``descriptors.backends.load_backend(path)``): a user model for the candidate
    search instead of VLAD (regions are still looked up with VLAD).
    """
    with threadpool_limits(limits=1):  # small matrices: BLAS / OpenMP threads only spin on a loaded machine
        return _find_similar(ds, k, params, regions, metadata_keys, progress, workers, backend)


def _find_similar(
    ds: Dataset,
    k: int,
    params: VerifyParams,
    regions: bool,
    metadata_keys: tuple[str, ...],
    progress: Progress | None,
    workers: int | None,
    backend: GlobalBackendLike | None,
) -> SimilarityResult:
    clock = _StageClock()
    rows = list(ds.samples_with_annotations()) if regions else [(s, []) for s in ds.samples()]
    samples = [s for s, _ in rows]
    by_digest: dict[str, list[Sample]] = {}
    for s in samples:
        by_digest.setdefault(s.blob, []).append(s)
    cache = _Cache(DescriptorStore.for_dataset(ds))
    # new descriptions go straight into the cache, unless it could not hold them until the index reads them
    keep = cache.put if len(by_digest) <= cache.size else None
    report = describe_digests(ds, by_digest, progress=progress, workers=workers, on_described=keep)
    digests = [d for d in by_digest if d not in report.failed]
    clock.lap("describe")
    index = vlad_index(ds.root, digests, cache.get)
    if backend is not None:
        from keepsight.descriptors.backends import model_index
    stats_by_digest = load_stats(ds.engine)
    dhashes = {d: int(str(rec["dhash"])) for d, rec in stats_by_digest.items()}
    search = index if backend is None else model_index(ds.root, digests, ds.blobs.get, backend)
    clock.lap("index")
    candidates = _candidates(search, digests, dhashes, k)
    clock.lap("search")
    verified = _VerifiedPairs(ds.root, params)
    results = {pair: verified.check(pair, cache.get) for pair in sorted(candidates)}
    verified.save()
    clock.lap("verify")

    pairs: list[Pair] = []
    paths = {s.id: s.path for s in samples}
    rep = {d: ss[0] for d, ss in by_digest.items()}
    for d, ss in by_digest.items():
        pairs += [Pair(a.id, b.id, a.path, b.path, "exact", 1.0, {"digest": d}) for a, b in pairwise(ss)]
    keypoints = {d: int(str(rec["keypoints"])) for d, rec in stats_by_digest.items()}
    for (da, db), v in results.items():
        if da in rep and db in rep:
            pair = _evidence_pair(
                rep[da], rep[db], v, (dhashes[da], dhashes[db]), (keypoints[da], keypoints[db]), params
            )
            if pair is not None:
                pairs.append(pair)
    meta = {s.id: s.metadata for s in samples}
    pairs += metadata_pairs(paths, meta, metadata_keys)
    region_stats: dict[str, int] = {}
    if regions:
        graph = build_graph([s.id for s in samples], pairs, meta, metadata_keys)
        component = {sid: n for n, ids in enumerate(nx.connected_components(graph)) for sid in ids}

        def joined(da: str, db: str) -> bool:
            return component[rep[da].id] == component[rep[db].id]

        region_cache = _RegionCache(ds.root)
        pairs += _region_pairs(rows, index, cache.get, k, joined, rep, region_cache)
        region_cache.save()
        region_stats = {
            "verified_new": region_cache.new,
            "cached": region_cache.hits,
            "vectors_new": region_cache.vectors_new,
        }
    clock.lap("regions")
    graph = build_graph([s.id for s in samples], pairs, meta, metadata_keys)
    kept = [data["pair"] for _, _, data in graph.edges(data=True)]
    kept.sort(key=lambda p: (p.a, p.b))
    groups = groups_of(graph, paths)
    save_groups(ds.root, kept, groups)
    clock.lap("groups")
    stats = {
        "samples": len(samples),
        "blobs": len(by_digest),
        "described": report.computed,
        "describe_failed": report.failed,
        "candidates": len(candidates),
        "verified_new": verified.new,
        "regions": region_stats,
        "seconds_describe": round(clock.laps["describe"][0], 3),
        "seconds_total": round(sum(w for w, _ in clock.laps.values()), 3),
        # wall and CPU seconds of this process per stage (describe workers' CPU is not in it)
        "stages": {name: {"wall": round(w, 3), "cpu": round(c, 3)} for name, (w, c) in clock.laps.items()},
    }
    return SimilarityResult(kept, groups, stats)


def _candidates(index: GlobalIndex, digests: list[str], dhashes: dict[str, int], k: int) -> set[tuple[str, str]]:
    """Unordered digest pairs: each image's k nearest neighbours, plus equal dihedral hashes."""
    out: set[tuple[str, str]] = set()
    rows = np.array([index.row[d] for d in digests], dtype=np.int64)
    if len(rows) < 2:
        return out
    _, nn = index.search(index.vectors[rows], k + 1)
    for d, neighbours in zip(digests, nn, strict=True):
        for j in neighbours:
            if j >= 0 and index.digests[j] != d:
                out.add(_key(d, index.digests[j]))
    by_hash: dict[int, list[str]] = {}
    for d in digests:
        by_hash.setdefault(dhashes[d], []).append(d)
    for same in by_hash.values():
        out.update(_key(a, b) for a, b in pairwise(same))
    return out


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _evidence_pair(
    sa: Sample,
    sb: Sample,
    v: Verification,
    dhashes: tuple[int, int],
    keypoints: tuple[int, int],
    params: VerifyParams,
) -> Pair | None:
    if sa.id > sb.id:
        sa, sb = sb, sa
    if v.ok:
        return Pair(sa.id, sb.id, sa.path, sb.path, "near", float(v.inliers), v.evidence())
    if dhashes[0] == dhashes[1] and min(keypoints) < params.min_inliers:  # too plain to verify
        return Pair(sa.id, sb.id, sa.path, sb.path, "hash", 0.0, {"dhash": f"{dhashes[0]:016x}"})
    return None


class _StageClock:
    """Wall and CPU seconds of consecutive stages."""

    def __init__(self) -> None:
        self.laps: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps[name] = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


class _VerifiedPairs:
    """Verification results by digest pair, kept on disk so incremental runs only verify new pairs."""

    def __init__(self, root: Path, params: VerifyParams) -> None:
        self.root = root
        self.path = similarity_dir(root) / "verified.json"
        self.tag = json.dumps([VERIFY_VERSION, asdict(params)], sort_keys=True)
        self.known: dict[str, list[float]] = {}
        self.new = 0
        if self.path.exists():
            body = json.loads(self.path.read_text(encoding="utf-8"))
            if body.get("tag") == self.tag:
                self.known = body["pairs"]

    def check(self, pair: tuple[str, str], load: Callable[[str], Description]) -> Verification:
        key = f"{pair[0]}:{pair[1]}"
        if key in self.known:
            m, i, s, a, ok, cov, overlap, needed = self.known[key]
            return Verification(int(m), int(i), s, a, bool(ok), cov, int(overlap), int(needed))
        v = verify_descriptions(load(pair[0]), load(pair[1]), params_from_tag(self.tag))
        self.known[key] = [v.matches, v.inliers, v.scale, v.angle, int(v.ok), v.coverage, v.overlap, v.needed]
        self.new += 1
        return v

    def save(self) -> None:
        if self.new:
            body = {"tag": self.tag, "pairs": self.known}
            atomic_write_bytes(self.path, json.dumps(body).encode("utf-8"))


@lru_cache(maxsize=8)
def params_from_tag(tag: str) -> VerifyParams:
    raw = json.loads(tag)[1]
    raw["scale_range"] = tuple(raw["scale_range"])
    return VerifyParams(**raw)


REGION_VERSION = 2  # bump when what a cached region verification means changes
REGION_BATCH = 256  # regions encoded (VLAD, 16,384 floats each) and searched at a time


def _region_pairs(
    rows: list[tuple[Sample, list[Annotation]]],
    index: GlobalIndex,
    load: Callable[[str], Description],
    k: int,
    joined: Callable[[str, str], bool],
    rep: dict[str, Sample],
    cache: _RegionCache,
) -> list[Pair]:
    """Annotated regions (with context) of each image found in other whole images.

    Each region is looked up in the index; an image's candidates are the union of its regions'
    neighbours, best-ranked first, at most ``k`` of them, leaving out images already in its group
    (``joined``: the region could only repeat what the whole-image evidence says). Each (image,
    candidate) pair is verified once for all the image's regions (one match search, one fit per
    region) and cached by digest pair and the regions' boxes, so a later run verifies only new pairs.
    """
    work: list[tuple[Sample, list[Annotation], list[np.ndarray], str]] = []
    for sample, anns in rows:
        if rep.get(sample.blob) is not sample:
            continue
        kept, sets = [], []
        desc = load(sample.blob)
        for ann in anns:
            bounds = ann.geometry.bounds() if ann.kind in REGION_KINDS else None
            if bounds is None:
                continue
            idx = region_keypoints(desc.keypoints, bounds)
            if len(idx) >= REGION_PARAMS.min_inliers:
                kept.append(ann)
                sets.append(idx)
        if kept:
            rounded = [[round(v, 1) for v in a.geometry.bounds() or ()] for a in kept]
            work.append((sample, kept, sets, digest_bytes(json.dumps(rounded).encode())[:16]))
    # candidates: every region's neighbours, ranked by their best position over the image's regions
    ranked: dict[str, dict[str, int]] = {}
    queries = [(s.blob, idx, f"{s.blob}>{boxes}>{r}") for s, _, sets, boxes in work for r, idx in enumerate(sets)]
    for start in range(0, len(queries), REGION_BATCH):
        chunk = queries[start : start + REGION_BATCH]
        vectors = cache.vectors(index, chunk, load)
        _, nn = index.search(vectors, k + 1)
        for (d, _, _), neighbours in zip(chunk, nn, strict=True):
            best = ranked.setdefault(d, {})
            for pos, j in enumerate(neighbours):
                if j >= 0:
                    other = index.digests[j]
                    best[other] = min(pos, best.get(other, pos))
    out: dict[tuple[str, str], Pair] = {}
    for sample, anns, sets, boxes in work:
        d = sample.blob
        by_rank = sorted(ranked.get(d, {}).items(), key=lambda item: (item[1], item[0]))
        others = [o for o, _ in by_rank if o != d and o in rep and not joined(d, o)][:k]
        mine: Description | None = None
        for other in others:
            key = _key(d, other)
            if key in out:
                continue
            found = cache.get(d, other, boxes)
            if found is None:
                mine = mine or load(d)
                od = load(other)
                r, v = verify_regions(
                    mine.keypoints,
                    mine.descriptors,
                    sets,
                    od.keypoints,
                    od.descriptors,
                    params=REGION_PARAMS,
                    pixel=1.0 / mine.scale,
                )
                found = cache.put(d, other, boxes, r if v.ok else -1, v)
            r, evidence = found
            if r < 0:
                continue
            ann = anns[r]
            a, b = sorted((sample, rep[other]), key=lambda s: s.id)
            evidence = {**evidence, "region_of": sample.id, "annotation": ann.uid, "label": ann.label}
            out[key] = Pair(a.id, b.id, a.path, b.path, "region", float(evidence["inliers"]), evidence)
    return list(out.values())


class _RegionCache:
    """Region verifications by (image, other image, the image's region boxes), kept on disk."""

    def __init__(self, root: Path) -> None:
        self.path = similarity_dir(root) / "regions.json"
        self.tag = json.dumps([DESCRIBE_VERSION, VERIFY_VERSION, REGION_VERSION, asdict(REGION_PARAMS)], sort_keys=True)
        self.known: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.new = 0
        self.hits = 0
        self.fingerprint = ""
        self.vector_of: dict[str, np.ndarray] = {}
        self.vectors_used: dict[str, np.ndarray] = {}
        self.vectors_new = 0
        if self.path.exists():
            body = json.loads(self.path.read_text(encoding="utf-8"))
            if body.get("tag") == self.tag:
                self.known = body["pairs"]

    def get(self, digest: str, other: str, boxes: str) -> tuple[int, dict[str, Any]] | None:
        key = f"{digest}>{other}>{boxes}"
        if key not in self.known:
            return None
        self.hits += 1
        self.used[key] = value = self.known[key]
        return (-1, {}) if value is None else (int(value[0]), dict(value[1]))

    def put(self, digest: str, other: str, boxes: str, region: int, v: Verification) -> tuple[int, dict[str, Any]]:
        key = f"{digest}>{other}>{boxes}"
        evidence = dict[str, Any](v.evidence())
        self.known[key] = self.used[key] = None if region < 0 else [region, evidence]
        self.new += 1
        return region, evidence

    def vectors(
        self, index: GlobalIndex, regions: list[tuple[str, np.ndarray, str]], load: Callable[[str], Description]
    ) -> np.ndarray:
        """Global vectors of regions ((digest, keypoint indices, key) each): VLAD + projection, reused
        while the codebook and projection stay the same."""
        self._load_vectors(index)
        keys = [key for _, _, key in regions]
        missing = [i for i, key in enumerate(keys) if key not in self.vector_of]
        if missing:
            fresh = index.encode([load(regions[i][0]).descriptors[regions[i][1]] for i in missing])
            for i, v in zip(missing, fresh, strict=True):
                self.vector_of[keys[i]] = v
            self.vectors_new += len(missing)
        for key in keys:
            self.vectors_used[key] = self.vector_of[key]
        return np.stack([self.vector_of[key] for key in keys]).astype(np.float32)

    def _load_vectors(self, index: GlobalIndex) -> None:
        if self.fingerprint:
            return
        parts = [str(DESCRIBE_VERSION).encode(), index.require_codebook().tobytes()]
        if index.projection is not None:
            parts += [index.projection.mean.tobytes(), index.projection.components.tobytes()]
        self.fingerprint = digest_bytes(b"".join(parts))
        path = self.path.with_name("region-vectors.npz")
        if path.exists():
            with np.load(path) as z:
                if str(z["fingerprint"]) == self.fingerprint:
                    self.vector_of = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))

    def save(self) -> None:
        """Only the entries this run used: pairs of removed images or changed boxes drop out."""
        if self.new or len(self.used) != len(self.known):
            body = {"tag": self.tag, "pairs": self.used}
            atomic_write_bytes(self.path, json.dumps(body).encode("utf-8"))
        if self.vectors_new or len(self.vectors_used) != len(self.vector_of):
            keys = list(self.vectors_used)
            vectors = np.stack([self.vectors_used[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)
            buf = io.BytesIO()
            np.savez(buf, fingerprint=np.array(self.fingerprint), keys=np.array(keys), vectors=vectors)
            atomic_write_bytes(self.path.with_name("region-vectors.npz"), buf.getvalue())


def similar_to(
    ds: Dataset, image: Path | str | bytes, *, k: int = 16, params: VerifyParams = DEFAULT_PARAMS
) -> list[Match]:
    """What one image (a file or its bytes, in the dataset or not) matches, strongest first."""
    with threadpool_limits(limits=1):
        return _similar_to(ds, image, k, params)


def _similar_to(ds: Dataset, image: Path | str | bytes, k: int, params: VerifyParams) -> list[Match]:
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    digest = digest_bytes(data)
    query = describe_bytes(digest, data)
    samples = list(ds.samples())
    by_digest: dict[str, list[Sample]] = {}
    for s in samples:
        by_digest.setdefault(s.blob, []).append(s)
    describe_digests(ds, by_digest)
    store = DescriptorStore.for_dataset(ds)
    cache = _Cache(store)
    index = vlad_index(ds.root, [d for d in by_digest if store.has(d)], cache.get)
    matches: list[Match] = [Match(s.id, s.path, "exact", 1.0, {"digest": digest}) for s in by_digest.get(digest, [])]
    _, nn = index.search(index.encode([query.descriptors]), k)
    dhashes = {d: int(str(rec["dhash"])) for d, rec in load_stats(ds.engine).items()}
    neighbours = [index.digests[j] for j in nn[0] if j >= 0 and index.digests[j] in by_digest]
    neighbours += [d for d in by_digest if dhashes.get(d) == query.dhash]
    seen = {digest}
    for other in neighbours:
        if other in seen:
            continue
        seen.add(other)
        od = cache.get(other)
        v = verify_descriptions(query, od, params)
        reason, strength, evidence = "near", float(v.inliers), dict[str, Any](v.evidence())
        if not v.ok:
            too_plain = min(len(query.keypoints), len(od.keypoints)) < params.min_inliers
            if not (query.dhash == od.dhash and too_plain):
                continue
            reason, strength, evidence = "hash", 0.0, {"dhash": f"{od.dhash:016x}"}
        matches += [Match(s.id, s.path, reason, strength, evidence) for s in by_digest[other]]
    matches.sort(key=lambda m: ({"exact": 0, "near": 1, "hash": 2}[m.reason], -m.strength, m.sample_id))
    return matches
