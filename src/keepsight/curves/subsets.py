"""Nested, group-aware, class-stratified training subsets, and a group-aware holdout.

One seed gives one *order* of the object groups; the subset of size n is the shortest prefix of
that order holding about n samples. So for one seed the subsets are nested (20 ⊂ 40 ⊂ 80...),
whole groups move together (an object is never half in a subset), and the order interleaves the
classes in proportion to their sample counts: each prefix keeps the class mix of the pool. The
first groups of the order hold one group of every class, so even the smallest subset sees each
class when it can.

All randomness comes from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from keepsight.curves.items import NG, CurveItem
from keepsight.errors import DatasetError


def _groups(items: Sequence[CurveItem]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        out.setdefault(item.group, []).append(i)
    return out


def _stratum(items: Sequence[CurveItem], members: list[int]) -> str:
    counts = Counter(items[i].label for i in members)
    return min(counts, key=lambda label: (-counts[label], label))


def group_order(items: Sequence[CurveItem], seed: int) -> list[list[int]]:
    """The groups (lists of item indices) in the stratified random order of ``seed``."""
    rng = np.random.default_rng(seed)
    groups = _groups(items)
    by_class: dict[str, list[list[int]]] = {}
    for name in sorted(groups):
        by_class.setdefault(_stratum(items, groups[name]), []).append(groups[name])
    keyed: list[tuple[float, float, list[int]]] = []
    for label in sorted(by_class):
        members = by_class[label]
        perm = rng.permutation(len(members))
        total = sum(len(g) for g in members)
        before = 0
        for rank, j in enumerate(perm):
            group = members[j]
            # Position in [0, 1) of the group's middle sample within its class: classes interleave
            # by sample share. The first group of every class is pulled to the front.
            key = -1.0 if rank == 0 else (before + 0.5 * len(group)) / total
            keyed.append((key, float(rng.random()), group))
            before += len(group)
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [g for _, _, g in keyed]


def prefix_for(order: list[list[int]], size: int) -> list[int]:
    """The prefix of ``order`` whose sample count is closest to ``size`` (never empty)."""
    taken: list[int] = []
    for group in order:
        if taken and abs(len(taken) + len(group) - size) > abs(len(taken) - size):
            break
        taken.extend(group)
        if len(taken) >= size:
            break
    return sorted(taken)


def nested_subsets(items: Sequence[CurveItem], sizes: Sequence[int], seed: int) -> dict[int, list[int]]:
    """Size -> sorted item indices; for one seed every smaller subset lies inside every larger one."""
    order = group_order(items, seed)
    return {size: prefix_for(order, size) for size in sizes}


def holdout_split(
    items: Sequence[CurveItem], fraction: float, seed: int, *, task: str = "classify"
) -> tuple[list[int], list[int]]:
    """(train indices, test indices): whole groups held out, stratified, about ``fraction`` of the samples.

    For the anomaly task every group holding an NG sample goes to the test side (an anomaly model
    trains on good images only, so NG images are only useful for testing), then good-only groups
    are held out until the test side holds ``fraction`` of the good samples.
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"--holdout must be a fraction between 0 and 1, got {fraction}")
    test: list[int] = []
    candidates = list(items)
    index = list(range(len(items)))
    if task == "anomaly":
        groups = _groups(items)
        bad = {g for g, members in groups.items() if any(items[i].label == NG for i in members)}
        test = sorted(i for g in bad for i in groups[g])
        index = [i for i in range(len(items)) if items[i].group not in bad]
        candidates = [items[i] for i in index]
    want = round(fraction * len(candidates))
    order = group_order(candidates, seed)
    held = prefix_for(order, want) if want > 0 else []
    test += [index[i] for i in held]
    held_set = set(test)
    return [i for i in range(len(items)) if i not in held_set], sorted(test)


def auto_sizes(n_pool: int, n_classes: int, *, max_points: int = 7) -> list[int]:
    """A ladder halving from the whole pool down to a floor of a few images per class."""
    floor = max(8, 3 * n_classes)
    if n_pool < 2 * floor:
        raise DatasetError(
            f"the train pool holds {n_pool} usable samples; a learning curve needs at least {2 * floor} "
            f"(three sizes from {floor}) for {n_classes} class(es)"
        )
    sizes = [n_pool]
    while len(sizes) < max_points and sizes[-1] // 2 >= floor:
        sizes.append(sizes[-1] // 2)
    if len(sizes) < 3:
        sizes = sorted({n_pool, max(floor, math.ceil(n_pool * 0.7)), floor}, reverse=True)
    return sorted(sizes)


def parse_sizes(text: str, n_pool: int, n_classes: int, *, max_points: int = 7) -> tuple[list[int], list[int]]:
    """``auto`` or ``20,40,80``: (the sizes to run, the requested sizes dropped for exceeding the pool)."""
    if text.strip().lower() == "auto":
        return auto_sizes(n_pool, n_classes, max_points=max_points), []
    try:
        wanted = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise DatasetError(f"--sizes must be 'auto' or comma-separated integers, got {text!r}") from None
    if not wanted or wanted[0] < 1:
        raise DatasetError(f"--sizes must be positive integers, got {text!r}")
    kept = [s for s in wanted if s <= n_pool]
    dropped = [s for s in wanted if s > n_pool]
    if len(kept) < 2:
        raise DatasetError(f"--sizes {text}: the train pool holds {n_pool} samples, so fewer than two sizes remain")
    return kept, dropped
