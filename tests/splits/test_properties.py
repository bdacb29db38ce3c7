"""Property tests of the split invariants on random group structures (pure functions, no catalog)."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from keepsight.model.annotation import Sample
from keepsight.splits.assign import SPLIT_NAMES, Ratios, Unit, assign_units, repair_targets, straddling
from keepsight.splits.groups import parse_grouping, sample_groups

LABELS = ("scratch", "dent", "stain", "chip")


@st.composite
def structures(draw: st.DrawFn) -> tuple[list[list[int]], dict[int, set[str]], Ratios]:
    """A random partition of 1..150 samples into groups, random multi-labels, random ratios."""
    n = draw(st.integers(1, 150))
    n_groups = draw(st.integers(1, n))
    owner = draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n))
    masks = draw(st.lists(st.integers(0, 2 ** len(LABELS) - 1), min_size=n, max_size=n))  # label subsets as bits
    groups: dict[int, list[int]] = {}
    for sid, g in enumerate(owner, start=1):
        groups.setdefault(g, []).append(sid)
    labels = {sid: {lab for bit, lab in enumerate(LABELS) if mask >> bit & 1} or {"(none)"}
              for sid, mask in enumerate(masks, start=1)}
    weights = draw(st.tuples(st.integers(1, 10), st.integers(0, 10), st.integers(1, 10)))
    total = sum(weights)
    return list(groups.values()), labels, Ratios(*(w / total for w in weights))


def _units(groups: list[list[int]], labels: dict[int, set[str]], pinned: set[int] = frozenset()) -> list[Unit]:  # type: ignore[assignment]
    units = []
    for members in groups:
        counts: Counter[str] = Counter()
        for m in members:
            counts.update(labels[m])
        units.append(Unit(members[0], members, counts, "test" if pinned & set(members) else None))
    return units


def _by_sample(units: list[Unit], placed: dict[int, str]) -> dict[int, str]:
    return {sid: placed[u.key] for u in units for sid in u.members}


@settings(max_examples=80, deadline=None)
@given(structures(), st.integers(0, 2**32 - 1))
def test_splits_are_disjoint_complete_and_never_cut_a_group(structure, seed: int) -> None:
    groups, labels, ratios = structure
    units = _units(groups, labels)
    placed = assign_units(units, ratios, np.random.default_rng(seed))
    by_sample = _by_sample(units, placed)
    # Complete and disjoint: every sample exactly once, in one of the three splits.
    assert sorted(by_sample) == sorted(labels)
    assert set(by_sample.values()) <= set(SPLIT_NAMES)
    # Never cut: all members of a group share a split.
    assert not straddling(by_sample, groups)
    # A split with a zero ratio gets nothing.
    assert all(ratios.as_dict()[s] > 0 for s in set(by_sample.values()))
    # Deterministic for a seed.
    assert assign_units(_units(groups, labels), ratios, np.random.default_rng(seed)) == placed


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**32 - 1), st.sampled_from(["70/15/15", "80/10/10", "60/20/20", "50/0/50"]))
def test_singletons_meet_the_ratios_within_one_sample(n: int, seed: int, text: str) -> None:
    from keepsight.splits.assign import parse_ratios

    ratios = parse_ratios(text)
    units = [Unit(i, [i], Counter({"*": 1})) for i in range(1, n + 1)]
    placed = assign_units(units, ratios, np.random.default_rng(seed))
    counts = Counter(placed.values())
    for split, share in ratios.as_dict().items():
        assert abs(counts[split] - share * n) <= 1.0 + 1e-9


@settings(max_examples=100, deadline=None)
@given(structures(), st.integers(0, 2**32 - 1), st.data())
def test_frozen_test_survives_new_samples_and_new_splits(structure, seed: int, data: st.DataObject) -> None:
    groups, labels, ratios = structure
    units = _units(groups, labels)
    first = _by_sample(units, assign_units(units, ratios, np.random.default_rng(seed)))
    frozen = {sid for sid, split in first.items() if split == "test"}
    # New samples arrive: some join existing groups (a later capture of the same object), some are new objects.
    n = len(labels)
    grown = [list(g) for g in groups]
    new_labels = dict(labels)
    arrivals = data.draw(st.lists(st.tuples(st.sampled_from(LABELS), st.integers(-len(grown), len(grown) - 1)),
                                  min_size=1, max_size=40))
    for k, (label, where) in enumerate(arrivals):
        sid = n + 1 + k
        new_labels[sid] = {label}
        if where >= 0:
            grown[where].append(sid)  # a later capture of an object already in the dataset
        else:
            grown.append([sid])
    units2 = _units(grown, new_labels, frozen)
    second = _by_sample(units2, assign_units(units2, ratios, np.random.default_rng(seed + 1)))
    assert all(second[sid] == "test" for sid in frozen)
    for members in grown:  # a new sample whose group is in test goes to test
        if frozen & set(members):
            assert all(second[m] == "test" for m in members)
    assert not straddling(second, grown)


@settings(max_examples=80, deadline=None)
@given(structures(), st.data())
def test_repair_removes_every_leak_with_the_fewest_moves(structure, data: st.DataObject) -> None:
    groups, labels, _ = structure
    names = [*SPLIT_NAMES, "unassigned"]
    picks = data.draw(st.lists(st.integers(0, 7), min_size=len(labels), max_size=len(labels)))
    current = {sid: names[p % 4] for sid, p in zip(sorted(labels), picks, strict=True)}
    frozen = {sid for sid, p in zip(sorted(labels), picks, strict=True) if current[sid] == "test" and p >= 4}
    moves = repair_targets(current, groups, frozen, dict(Counter(current.values())))
    after = current | moves
    assert not straddling(after, groups)
    assert all(after[sid] == "test" for sid in frozen)  # frozen samples never leave test
    assert all(current[sid] in SPLIT_NAMES for sid in moves)  # unassigned samples are not leaks
    fewest = 0
    for members in straddling(current, groups):
        counts = Counter(current[m] for m in members if current[m] in SPLIT_NAMES)
        keep = counts["test"] if frozen & set(members) else max(counts.values())
        fewest += sum(counts.values()) - keep
    assert len(moves) == fewest


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["", "L1", "L2", "L3"]),
                          st.sampled_from([None, "P1", "P2"])), min_size=1, max_size=60),
       st.lists(st.lists(st.integers(1, 60), min_size=2, max_size=4), max_size=5))
def test_sample_groups_are_the_connected_components(rows, similar) -> None:
    samples = [Sample(i, f"cam/{i}.png", blob * 64, 8, 8, "L", "png",
                      metadata={k: v for k, v in (("lot", lot), ("part_serial", serial)) if v})
               for i, (blob, lot, serial) in enumerate(rows, start=1)]
    similar = [[m for m in g if m <= len(rows)] for g in similar]
    got = sample_groups(samples, parse_grouping(["auto"]), similar)
    # Oracle: networkx components of the same relations.
    graph = nx.Graph()
    graph.add_nodes_from(s.id for s in samples)
    for a in samples:
        for b in samples:
            same_meta = any(a.metadata.get(k) and a.metadata.get(k) == b.metadata.get(k) for k in ("lot", "part_serial"))
            if a.id < b.id and (a.blob == b.blob or same_meta):
                graph.add_edge(a.id, b.id)
    for g in similar:
        nx.add_path(graph, g)
    expected = sorted(sorted(c) for c in nx.connected_components(graph))
    assert sorted(got) == expected
