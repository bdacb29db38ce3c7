"""Splitting a task's images into jobs and handing jobs out: pure functions, seeded RNG.

Consensus images appear ``copies`` times, each copy in a different *round* of jobs, so the
copies of one image are always in different jobs; assignment then keeps them with different
annotators. Gold images (known answers) are mixed into every job at random positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from keepsight.errors import DatasetError


@dataclass(frozen=True)
class PlannedItem:
    sample_id: int
    role: str  # normal | consensus | gold


def choose_consensus(sample_ids: Sequence[int], share: float, rng: np.random.Generator) -> set[int]:
    """``share`` of the images (rounded) picked at random for blind multi-annotation."""
    count = int(round(share * len(sample_ids)))
    if count == 0:
        return set()
    return {int(s) for s in rng.choice(np.asarray(sample_ids), size=count, replace=False)}


def plan_jobs(sample_ids: Sequence[int], *, job_size: int, consensus: set[int], copies: int,
              gold_pool: Sequence[int], gold_per_job: int, rng: np.random.Generator) -> list[list[PlannedItem]]:
    if job_size < 1:
        raise DatasetError("a job needs at least one image")
    if consensus and copies < 2:
        raise DatasetError("consensus needs at least 2 annotators per image")
    rounds: list[list[PlannedItem]] = [
        [PlannedItem(s, "consensus" if s in consensus else "normal") for s in sample_ids]
    ]
    ordered_consensus = [s for s in sample_ids if s in consensus]
    rounds += [[PlannedItem(s, "consensus") for s in ordered_consensus] for _ in range(copies - 1)] if consensus else []
    jobs = [items[i:i + job_size] for items in rounds for i in range(0, len(items), job_size)]
    pool = np.asarray(sorted(set(gold_pool) - set(sample_ids)), dtype=np.int64)
    if gold_per_job and len(pool) == 0:
        raise DatasetError("gold images were asked for but no gold answers exist outside the task's images; "
                           "add some with PUT /gold/{sample_id}")
    planned = []
    for items in jobs:
        gold = [PlannedItem(int(s), "gold") for s in rng.choice(pool, size=min(gold_per_job, len(pool)), replace=False)] \
            if gold_per_job else []
        mixed = items + gold
        planned.append([mixed[i] for i in rng.permutation(len(mixed))])
    return planned


@dataclass(frozen=True)
class OpenJob:
    job_id: int
    items: int
    consensus_samples: frozenset[int]


def assign_by_load(jobs: Sequence[OpenJob], annotators: Sequence[int], load: Mapping[int, int],
                   holders: Mapping[int, set[int]]) -> dict[int, int]:
    """job id -> annotator: each job to the least-loaded annotator (fewest open images) who does
    not already hold a copy of one of its consensus images; ties go to the lower user id.

    ``holders`` maps a consensus sample to the annotators holding a copy in this task.
    Jobs nobody can take (every annotator holds one of their copies) are left out.
    """
    current = {a: int(load.get(a, 0)) for a in annotators}
    held = {s: set(users) for s, users in holders.items()}
    chosen: dict[int, int] = {}
    for job in jobs:
        eligible = [a for a in annotators if not any(a in held.get(s, set()) for s in job.consensus_samples)]
        if not eligible:
            continue
        pick = min(eligible, key=lambda a: (current[a], a))
        chosen[job.job_id] = pick
        current[pick] += job.items
        for s in job.consensus_samples:
            held.setdefault(s, set()).add(pick)
    return chosen
