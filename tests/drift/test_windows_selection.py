"""Windowing (count, sliding, time with an injected clock) and k-center selection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from keepsight.drift.selection import k_center_greedy, select_for_annotation
from keepsight.drift.windows import CountWindows, TimeWindows

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class Item:
    n: int
    at: datetime


def _items(n: int, every: float = 1.0) -> list[Item]:
    return [Item(k, T0 + timedelta(seconds=k * every)) for k in range(n)]


def test_tumbling_count_windows_and_the_trailing_flush() -> None:
    w: CountWindows[Item] = CountWindows(10)
    closed = [[i.n for i in win] for item in _items(25) for win in w.add(item)]
    assert closed == [list(range(10)), list(range(10, 20))]
    assert [[i.n for i in win] for win in w.flush()] == [list(range(20, 25))]
    assert w.flush() == []


def test_sliding_count_windows_overlap_by_size_minus_step() -> None:
    w: CountWindows[Item] = CountWindows(10, 5)
    closed = [[i.n for i in win] for item in _items(22) for win in w.add(item)]
    assert closed == [list(range(0, 10)), list(range(5, 15)), list(range(10, 20))]
    # the flush covers the 2 untested images plus the usual overlap of 5
    assert [[i.n for i in win] for win in w.flush()] == [list(range(15, 22))]


def test_time_windows_close_on_a_later_item_or_on_the_clock() -> None:
    w: TimeWindows[Item] = TimeWindows(60)
    items = _items(150, every=1.0)  # 08:00:00 .. 08:02:29
    closed = [[i.n for i in win] for item in items for win in w.add(item)]
    assert closed == [list(range(0, 60)), list(range(60, 120))]
    assert w.due(T0 + timedelta(seconds=170)) == []  # the third minute is not over yet
    late = w.due(T0 + timedelta(seconds=180))
    assert [[i.n for i in win] for win in late] == [list(range(120, 150))]
    assert w.flush() == []


def test_time_windows_skip_silent_periods() -> None:
    w: TimeWindows[Item] = TimeWindows(60)
    w.add(Item(0, T0))
    closed = w.add(Item(1, T0 + timedelta(hours=3)))
    assert [[i.n for i in win] for win in closed] == [[0]]
    assert w.start == T0 + timedelta(hours=3)


def test_k_center_starts_far_from_training_and_spreads_out() -> None:
    rng = np.random.default_rng(0)
    training = rng.normal(0, 0.1, (50, 2))
    near = rng.normal(0, 0.1, (30, 2))  # production like training
    cluster_a = rng.normal([5, 0], 0.05, (20, 2))
    cluster_b = rng.normal([0, 5], 0.05, (20, 2))
    candidates = np.concatenate([near, cluster_a, cluster_b])
    picks = k_center_greedy(candidates, 2, covered=training)
    groups = {("a" if 30 <= p.index < 50 else "b" if p.index >= 50 else "near") for p in picks}
    assert groups == {"a", "b"}  # one from each new cluster, none like training
    assert picks[0].distance > 4.5 and picks[1].distance > 4.5
    assert len(k_center_greedy(candidates, 100, covered=training)) == len(candidates)
    assert k_center_greedy(candidates, 0) == []


def test_selection_skips_repeated_images() -> None:
    emb = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    picks = select_for_annotation(emb, 3, training=np.full((1, 2), -5.0), digests=["a", "b", "b", "c"])
    assert sorted(p.index for p in picks) == [0, 1, 3]
    # an image identical to a training image adds nothing: it is never picked
    picks = select_for_annotation(emb, 3, training=np.zeros((1, 2)), digests=["a", "b", "b", "c"])
    assert sorted(p.index for p in picks) == [1, 3]
