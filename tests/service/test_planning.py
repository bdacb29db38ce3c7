"""Splitting into jobs and assignment by load, as pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from keepsight.errors import DatasetError
from keepsight.service.planning import OpenJob, assign_by_load, choose_consensus, plan_jobs


def test_jobs_hold_every_image_once_and_consensus_copies_apart() -> None:
    rng = np.random.default_rng(1)
    ids = list(range(100, 130))
    consensus = choose_consensus(ids, 0.2, rng)
    assert len(consensus) == 6 and consensus <= set(ids)
    jobs = plan_jobs(ids, job_size=7, consensus=consensus, copies=3, gold_pool=[1, 2, 3, 4], gold_per_job=2, rng=rng)
    normal = [i.sample_id for job in jobs for i in job if i.role == "normal"]
    copies = [i.sample_id for job in jobs for i in job if i.role == "consensus"]
    assert sorted(normal + [s for s in set(copies)]) == ids  # every image, once, plus the extra copies
    assert sorted(copies) == sorted([s for s in consensus for _ in range(3)])
    for job in jobs:
        samples = [i.sample_id for i in job]
        assert len(samples) == len(set(samples))  # never two copies of one image in a job
        assert sum(i.role == "gold" for i in job) == 2
    assert [len(j) - 2 for j in jobs] == [7, 7, 7, 7, 2, 6, 6]  # 30 images, then two rounds of 6 copies
    again = plan_jobs(ids, job_size=7, consensus=consensus, copies=3, gold_pool=[1, 2, 3, 4], gold_per_job=2,
                      rng=np.random.default_rng(1))
    assert len(again) == len(jobs)
    with pytest.raises(DatasetError, match="no gold answers"):
        plan_jobs(ids, job_size=7, consensus=set(), copies=2, gold_pool=ids, gold_per_job=1, rng=rng)


def test_assignment_balances_load_and_keeps_copies_with_different_people() -> None:
    jobs = [OpenJob(1, 10, frozenset({5})), OpenJob(2, 10, frozenset()), OpenJob(3, 4, frozenset({5})),
            OpenJob(4, 4, frozenset({5}))]
    chosen = assign_by_load(jobs, [7, 8, 9], load={7: 0, 8: 3, 9: 20}, holders={})
    assert chosen[1] == 7 and chosen[2] == 8  # the least loaded first
    assert len({chosen[1], chosen[3], chosen[4]}) == 3  # three copies of sample 5, three people
    stuck = assign_by_load([OpenJob(5, 1, frozenset({5}))], [7, 8], load={}, holders={5: {7, 8}})
    assert stuck == {}  # nobody may take it: left for a manager to decide
