"""Which samples must share a split: object groups from the same-object engine, merged with metadata.

A grouping is a list of terms (the ``--group`` option, repeatable):

* ``auto``: the same-object engine's groups (exact and near duplicates, region matches),
  merged with the metadata keys ``part_serial``, ``object_id``, ``lot`` and ``sequence``
  when samples carry them;
* ``none``: no grouping;
* ``KEY`` or ``meta:KEY``: samples with equal values of metadata key ``KEY``;
* ``path:REGEX``: samples whose paths give the same match of ``REGEX`` (its first capture
  group when it has one), e.g. ``path:_(\\d+_\\d+)_crop`` for a time-lapse spot in the file name.

Byte-identical images (the same blob) are always grouped: nothing is gained by splitting them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from keepsight.errors import DatasetError
from keepsight.model.annotation import Sample

AUTO_KEYS: tuple[str, ...] = ("part_serial", "object_id", "lot", "sequence")


@dataclass(frozen=True)
class Grouping:
    similarity: bool = False
    keys: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        terms = ["auto"] if self.similarity else []
        terms += [f"meta:{k}" for k in self.keys if not (self.similarity and k in AUTO_KEYS)]
        terms += [f"path:{p}" for p in self.patterns]
        return terms or ["none"]


def parse_grouping(terms: Sequence[str]) -> Grouping:
    similarity = False
    keys: list[str] = []
    patterns: list[str] = []
    for raw in terms or ["auto"]:
        term = raw.strip()
        if term == "auto":
            similarity = True
            keys += [k for k in AUTO_KEYS if k not in keys]
        elif term == "none":
            continue
        elif term.startswith("path:"):
            pattern = term[5:]
            try:
                re.compile(pattern)
            except re.error as exc:
                raise DatasetError(f"--group {term!r}: not a regular expression: {exc}") from None
            patterns.append(pattern)
        else:
            key = term.removeprefix("meta:")
            if not key:
                raise DatasetError(f"--group {raw!r}: expected auto, none, a metadata KEY or path:REGEX")
            if key not in keys:
                keys.append(key)
    if "none" in [t.strip() for t in terms] and (similarity or keys or patterns):
        raise DatasetError("--group none cannot be combined with other grouping terms")
    return Grouping(similarity, tuple(keys), tuple(patterns))


def _path_key(pattern: re.Pattern[str], path: str) -> str | None:
    match = pattern.search(path)
    if match is None:
        return None
    return match.group(1) if pattern.groups else match.group(0)


def _chains(samples: list[Sample], grouping: Grouping) -> Iterable[list[int]]:
    """Lists of sample ids that must share a split (each list is one 'same' relation)."""
    by_value: dict[tuple[str, str], list[int]] = {}
    for s in samples:
        by_value.setdefault(("blob", s.blob), []).append(s.id)
        for key in grouping.keys:
            value = s.metadata.get(key)
            if value not in (None, "", [], {}):
                by_value.setdefault((f"meta:{key}", json.dumps(value, sort_keys=True)), []).append(s.id)
    for pattern in grouping.patterns:
        compiled = re.compile(pattern)
        for s in samples:
            found = _path_key(compiled, s.path)
            if found:
                by_value.setdefault((f"path:{pattern}", found), []).append(s.id)
    return by_value.values()


def sample_groups(
    samples: list[Sample], grouping: Grouping, similarity_groups: Iterable[Iterable[int]] = ()
) -> list[list[int]]:
    """The partition of ``samples`` into groups (each a sorted list of ids), ordered by first id."""
    ids = sorted(s.id for s in samples)
    index = {sid: i for i, sid in enumerate(ids)}
    rows: list[int] = []
    cols: list[int] = []
    chains = list(_chains(samples, grouping))
    chains += [[m for m in g if m in index] for g in similarity_groups]
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            rows.append(index[a])
            cols.append(index[b])
    n = len(ids)
    if n == 0:
        return []
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(ids[i])
    return sorted(groups.values(), key=lambda g: g[0])
