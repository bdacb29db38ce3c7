"""map_in_processes: results in order, and a dead worker is an error instead of a hang."""

from __future__ import annotations

import os

import pytest

from keepsight.parallel import WorkerDied, map_in_processes


def square(x: int) -> int:
    return x * x


def die_at_start() -> None:
    os._exit(3)


def test_results_come_in_task_order_from_a_lazy_task_list() -> None:
    tasks = (i for i in range(40))
    assert list(map_in_processes(square, tasks, workers=2)) == [i * i for i in range(40)]


@pytest.mark.timeout(120)  # the bug this guards against was a hang
def test_workers_that_die_at_start_raise_instead_of_hanging() -> None:
    with pytest.raises(WorkerDied, match="worker process stopped unexpectedly"):
        list(map_in_processes(square, range(10), workers=2, initializer=die_at_start))
