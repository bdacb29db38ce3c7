"""Placing whole object groups into train/val/test: iterative stratification over groups.

Pure functions over plain data (no catalog), so that the invariants can be property-tested:
every group lands in exactly one split, pinned groups land where they are pinned, and the
split sizes and per-label counts come as close to the ratios as the group sizes allow.

The method is Sechidis et al.'s iterative stratification (ECML 2011), which handles
multi-label data, applied to groups instead of images: a group's label vector counts its
images per label. Labels are served rarest first, so that a class seen in three groups is
spread before the common classes fill the splits; within a label the largest groups are
placed first (they are the hardest to fit). scikit-learn's ``StratifiedGroupKFold`` is
single-label and makes k equal folds, not ratios, which is why this is written here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from keepsight.errors import DatasetError

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Ratios:
    """Target shares of train, val and test (they sum to 1)."""

    train: float
    val: float
    test: float

    def as_dict(self) -> dict[str, float]:
        return {"train": self.train, "val": self.val, "test": self.test}


def parse_ratios(text: str) -> Ratios:
    """``70/15/15``, ``0.7,0.15,0.15`` or ``80/20`` (train/test, no val); any positive scale."""
    parts = [p for p in re.split(r"[/,:\s]+", text.strip()) if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise DatasetError(f"ratios must be numbers like 70/15/15, got {text!r}") from None
    if len(values) == 2:
        values = [values[0], 0.0, values[1]]
    if len(values) != 3 or any(v < 0 or not np.isfinite(v) for v in values) or sum(values) <= 0:
        raise DatasetError(f"ratios must be three non-negative numbers train/val/test (or train/test), got {text!r}")
    total = sum(values)
    return Ratios(*(v / total for v in values))


@dataclass
class Unit:
    """One object group: its sample ids, how many of them carry each label, and where it must go."""

    key: int
    members: list[int]
    labels: Counter[str] = field(default_factory=Counter)
    pinned: str | None = None

    @property
    def size(self) -> int:
        return len(self.members)


def assign_units(units: list[Unit], ratios: Ratios, rng: np.random.Generator) -> dict[int, str]:
    """unit key -> split. Pinned units go where pinned; the others are stratified by their labels."""
    shares = ratios.as_dict()
    open_splits = [s for s in SPLIT_NAMES if shares[s] > 0]
    if not open_splits:
        raise DatasetError("at least one ratio must be positive")
    total = sum(u.size for u in units)
    label_totals: Counter[str] = Counter()
    for u in units:
        label_totals.update(u.labels)
    # What each split still wants, overall and per label; pinned units are served first.
    want_size = {s: shares[s] * total for s in SPLIT_NAMES}
    want_label = {label: {s: shares[s] * n for s in SPLIT_NAMES} for label, n in label_totals.items()}
    placed: dict[int, str] = {}

    def place(unit: Unit, split: str) -> None:
        placed[unit.key] = split
        want_size[split] -= unit.size
        for label, n in unit.labels.items():
            want_label[label][split] -= n

    for unit in units:
        if unit.pinned is not None:
            if unit.pinned not in SPLIT_NAMES:
                raise DatasetError(f"cannot pin a group to split {unit.pinned!r}")
            place(unit, unit.pinned)
    free = [units[i] for i in rng.permutation(len(units)) if units[i].pinned is None]
    # Random order first, then a stable sort: equal-size groups keep a seeded random order.
    free.sort(key=lambda u: -u.size)
    by_label: dict[str, list[Unit]] = {}
    for unit in free:
        for label in unit.labels:
            by_label.setdefault(label, []).append(unit)
    remaining = Counter({label: sum(u.labels[label] for u in members) for label, members in by_label.items()})
    tiebreak = {s: float(v) for s, v in zip(SPLIT_NAMES, rng.random(len(SPLIT_NAMES)), strict=True)}

    while remaining:
        # The rarest label still to place (ties: a seeded random pick).
        fewest = min(remaining.values())
        rare = sorted(label for label, n in remaining.items() if n == fewest)
        label = rare[int(rng.integers(len(rare)))]
        for unit in by_label.pop(label):
            if unit.key in placed:
                continue
            split = max(open_splits, key=lambda s: (want_label[label][s], want_size[s], tiebreak[s]))
            place(unit, split)
            for lab, n in unit.labels.items():
                if lab in remaining:
                    remaining[lab] -= n
        remaining = Counter({lab: n for lab, n in remaining.items() if lab in by_label and n > 0})
    for unit in free:  # groups without any label
        if unit.key not in placed:
            place(unit, max(open_splits, key=lambda s: (want_size[s], tiebreak[s])))
    return placed


def straddling(assignment: dict[int, str], members: list[list[int]]) -> list[list[int]]:
    """The groups whose samples sit in more than one of train/val/test (the leaks)."""
    out = []
    for group in members:
        splits = {assignment[m] for m in group if assignment.get(m) in SPLIT_NAMES}
        if len(splits) > 1:
            out.append(group)
    return out


def repair_targets(
    assignment: dict[int, str], members: list[list[int]], frozen: set[int], sizes: dict[str, int]
) -> dict[int, str]:
    """For each group spread over several splits: the split all its evaluated samples move to.

    The split holding most of the group's samples, so the fewest samples move; a group with a
    frozen test sample goes to test; ties go to the smaller split (it keeps its relative size).
    Returns sample id -> new split, for the samples that move.
    """
    moves: dict[int, str] = {}
    for group in straddling(assignment, members):
        counts = Counter(assignment[m] for m in group if assignment.get(m) in SPLIT_NAMES)
        if any(m in frozen for m in group):
            target = "test"
        else:
            target = max(counts, key=lambda s: (counts[s], -sizes.get(s, 0), -SPLIT_NAMES.index(s)))
        for m in group:
            if assignment.get(m) in SPLIT_NAMES and assignment[m] != target:
                moves[m] = target
    return moves
