"""Work spread over worker processes, for the stages that decode and describe images.

``ProcessPoolExecutor`` rather than ``multiprocessing.Pool``: when a worker dies (killed, out
of memory, or unable to start) the executor fails every pending task, while a Pool starts a new
worker in its place and, if that one dies too, waits forever.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TypeVar

from keepsight.errors import KeepsightError

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(KeepsightError):
    """A worker process ended without returning its result."""


def map_in_processes(fn: Callable[[T], R], tasks: Iterable[T], *, workers: int,
                     initializer: Callable[[], None] | None = None) -> Iterator[R]:
    """``fn`` over ``tasks`` in ``workers`` spawned processes, results in task order.

    At most four tasks per worker are in flight, so a long (or lazy) task list is never held
    whole in memory. ``fn`` and ``initializer`` must be module-level functions.
    """
    window = 4 * workers
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=initializer) as pool:
            pending: deque[Future[R]] = deque()
            for task in tasks:
                pending.append(pool.submit(fn, task))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    except BrokenProcessPool as exc:
        raise WorkerDied(f"a worker process stopped unexpectedly (killed, out of memory, or it could not "
                         f"start): {exc}") from exc
