"""The same-object graph over samples and its connected components (object groups).

Edges carry a reason and a strength:

* ``metadata:<key>``: user metadata (part serial, object id) with equal values. Always wins:
  two samples whose values for such a key differ are never linked by image evidence.
* ``exact``: the same bytes (same blob digest).
* ``near``: verified near duplicates; strength = RANSAC inliers.
* ``region``: an annotated region found in the other image; strength = inliers.
* ``hash``: equal dihedral perceptual hashes on images too plain to verify.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx

from keepsight.similarity.index import similarity_dir
from keepsight.storage.blobs import atomic_write_bytes

# Which reason to keep when two samples are linked in several ways.
_PRIORITY = {"metadata": 4, "exact": 3, "near": 2, "region": 1, "hash": 0}


def _rank(reason: str) -> int:
    return _PRIORITY[reason.split(":", 1)[0]]


@dataclass
class Pair:
    a: int  # sample ids, a < b
    b: int
    path_a: str
    path_b: str
    reason: str
    strength: float  # inliers for near/region, 1 for exact/metadata, hamming distance 0 for hash
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    id: str
    samples: list[int]
    paths: list[str]
    reasons: dict[str, int]  # reason -> number of edges inside the group


def build_graph(
    sample_ids: list[int], pairs: list[Pair], metadata: dict[int, dict[str, Any]], keys: tuple[str, ...]
) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(sample_ids)
    for pair in pairs:
        if pair.reason.startswith("metadata:") or not _metadata_conflict(metadata, keys, pair.a, pair.b):
            _add(graph, pair)
    return graph


def _metadata_conflict(metadata: dict[int, dict[str, Any]], keys: tuple[str, ...], a: int, b: int) -> bool:
    ma, mb = metadata.get(a, {}), metadata.get(b, {})
    return any(k in ma and k in mb and ma[k] != mb[k] for k in keys)


def _add(graph: nx.Graph, pair: Pair) -> None:
    old = graph.get_edge_data(pair.a, pair.b)
    if old is None or _rank(pair.reason) > _rank(old["pair"].reason):
        graph.add_edge(pair.a, pair.b, pair=pair)


def metadata_pairs(samples: dict[int, str], metadata: dict[int, dict[str, Any]], keys: tuple[str, ...]) -> list[Pair]:
    """A chain of edges per (key, value): enough for connectivity without n^2 edges."""
    out: list[Pair] = []
    for key in keys:
        by_value: dict[str, list[int]] = {}
        for sid, meta in metadata.items():
            if meta.get(key) not in (None, ""):
                by_value.setdefault(json.dumps(meta[key], sort_keys=True), []).append(sid)
        for value, ids in by_value.items():
            ids.sort()
            out += [
                Pair(a, b, samples[a], samples[b], f"metadata:{key}", 1.0, {"value": json.loads(value)})
                for a, b in pairwise(ids)
            ]
    return out


def groups_of(graph: nx.Graph, paths: dict[int, str]) -> list[Group]:
    groups = []
    for component in nx.connected_components(graph):
        if len(component) < 2:
            continue
        ids = sorted(component)
        reasons: dict[str, int] = {}
        for _, _, data in graph.subgraph(ids).edges(data=True):
            reason = data["pair"].reason
            reasons[reason] = reasons.get(reason, 0) + 1
        groups.append(Group(id=f"g{ids[0]}", samples=ids, paths=[paths[i] for i in ids], reasons=reasons))
    groups.sort(key=lambda g: (-len(g.samples), g.samples[0]))
    return groups


def save_groups(root: Path, pairs: list[Pair], groups: list[Group]) -> Path:
    path = similarity_dir(root) / "groups.json"
    body = {"version": 1, "pairs": [asdict(p) for p in pairs], "groups": [asdict(g) for g in groups]}
    atomic_write_bytes(path, json.dumps(body, indent=1).encode("utf-8"))
    return path


def load_groups(root: Path) -> tuple[list[Pair], list[Group]] | None:
    path = similarity_dir(root) / "groups.json"
    if not path.exists():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    return [Pair(**p) for p in body["pairs"]], [Group(**g) for g in body["groups"]]
