"""Nested, group-aware, stratified subsets and the group-aware holdout."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepsight.curves.items import NG, OK, CurveItem
from keepsight.curves.subsets import auto_sizes, group_order, holdout_split, nested_subsets, parse_sizes
from keepsight.errors import DatasetError


def _items(spec: list[tuple[str, int]]) -> list[CurveItem]:
    """spec: (label, group size) per group."""
    out = []
    for g, (label, size) in enumerate(spec):
        for _k in range(size):
            sid = len(out) + 1
            out.append(CurveItem(sid, f"img/{sid}.png", f"{sid:064x}", label, f"g{g}" if size > 1 else f"s{sid}",
                                 "scratch" if label == NG else None))
    return out


def _groups_whole(items: list[CurveItem], chosen: list[int]) -> bool:
    inside = {items[i].group for i in chosen}
    return all((i in set(chosen)) == (items[i].group in inside) for i in range(len(items)))


def test_subsets_are_nested_whole_groups_and_stratified() -> None:
    items = _items([("a", 3)] * 30 + [("b", 1)] * 60 + [("c", 2)] * 15)  # 90 a, 60 b, 30 c
    sizes = [12, 24, 48, 96, 180]
    subsets = nested_subsets(items, sizes, seed=3)
    for small, big in zip(sizes, sizes[1:], strict=False):
        assert set(subsets[small]) <= set(subsets[big])
    for size, chosen in subsets.items():
        assert _groups_whole(items, chosen)
        assert abs(len(chosen) - size) <= 2  # groups of up to 3 make sizes approximate
        counts = Counter(items[i].label for i in chosen)
        assert set(counts) == {"a", "b", "c"}  # even the smallest subset sees every class
        if size >= 48:
            for label, share in (("a", 0.5), ("b", 1 / 3), ("c", 1 / 6)):
                assert counts[label] / len(chosen) == pytest.approx(share, abs=0.08)
    assert sorted(subsets[180]) == list(range(180))


def test_seeds_give_different_but_reproducible_subsets() -> None:
    items = _items([("a", 1)] * 50 + [("b", 1)] * 50)
    assert nested_subsets(items, [20], 1) == nested_subsets(items, [20], 1)
    assert nested_subsets(items, [20], 1) != nested_subsets(items, [20], 2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.integers(1, 4)), min_size=2, max_size=40), st.integers(0, 10_000))
def test_group_order_is_a_partition_into_whole_groups(spec: list[tuple[str, int]], seed: int) -> None:
    items = _items(spec)
    order = group_order(items, seed)
    flat = [i for g in order for i in g]
    assert sorted(flat) == list(range(len(items)))
    for group in order:
        assert len({items[i].group for i in group}) == 1
    first = {items[order[k][0]].label for k in range(len({s for s, _ in spec}))}
    assert first == {label for label, _ in spec}  # one group of every class leads the order


def test_holdout_keeps_groups_whole_and_is_stratified() -> None:
    items = _items([("a", 2)] * 40 + [("b", 1)] * 40)
    train, test = holdout_split(items, 0.25, seed=7)
    assert sorted(train + test) == list(range(len(items))) and not set(train) & set(test)
    assert {items[i].group for i in train}.isdisjoint({items[i].group for i in test})
    counts = Counter(items[i].label for i in test)
    assert len(test) == pytest.approx(30, abs=2) and counts["a"] == pytest.approx(20, abs=2)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        holdout_split(items, 1.5, seed=0)


def test_anomaly_holdout_sends_every_group_with_a_defect_to_test() -> None:
    items = _items([(OK, 1)] * 40 + [(NG, 1)] * 10 + [(OK, 2)] * 5)
    # a group holding both a good and a defective image of one object
    items.append(CurveItem(999, "img/999.png", "f" * 64, NG, "g40", "scratch"))
    train, test = holdout_split(items, 0.2, seed=0, task="anomaly")
    assert all(items[i].label == OK for i in train)
    assert {i for i, it in enumerate(items) if it.group == "g40"} <= set(test)
    assert sum(items[i].label == OK for i in test) == pytest.approx(0.2 * 48, abs=2)


def test_size_ladders() -> None:
    assert auto_sizes(1440, 6) == [22, 45, 90, 180, 360, 720, 1440]
    assert auto_sizes(40, 2, max_points=7) == [10, 20, 40]
    with pytest.raises(DatasetError, match="at least 16"):
        auto_sizes(12, 2)
    assert parse_sizes("20, 40,80,5000", 100, 2) == ([20, 40, 80], [5000])
    with pytest.raises(DatasetError, match="comma-separated"):
        parse_sizes("20;40", 100, 2)
