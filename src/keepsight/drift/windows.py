"""Cutting the observation stream into windows: by count (tumbling or sliding) or by time.

Time comes from an injectable clock (``Clock``: a function returning an aware datetime), so
tests and replays control it; the observation times themselves may be given explicitly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Timed(Protocol):
    @property
    def at(self) -> datetime: ...


T = TypeVar("T", bound=Timed)


class CountWindows(Generic[T]):
    """A window of the last ``size`` items every ``step`` items (``step == size``: tumbling)."""

    def __init__(self, size: int, step: int | None = None) -> None:
        self.size = size
        self.step = step or size
        self.buffer: deque[T] = deque(maxlen=size)
        self.pending = 0  # items since the last window

    def add(self, item: T) -> list[list[T]]:
        self.buffer.append(item)
        self.pending += 1
        if len(self.buffer) == self.size and self.pending >= self.step:
            self.pending = 0
            return [list(self.buffer)]
        return []

    def due(self, now: datetime) -> list[list[T]]:
        return []

    def flush(self) -> list[list[T]]:
        """The trailing window at the end of a stream: the items not yet tested plus the usual overlap."""
        if not self.pending:
            return []
        take = min(len(self.buffer), self.pending + self.size - self.step)
        self.pending = 0
        return [list(self.buffer)[-take:]]


class TimeWindows(Generic[T]):
    """Tumbling windows ``[k * seconds, (k + 1) * seconds)`` in UTC epoch time, closed by a later item or the clock."""

    def __init__(self, seconds: float) -> None:
        self.length = timedelta(seconds=seconds)
        self.seconds = seconds
        self.items: list[T] = []
        self.start: datetime | None = None

    def _slot(self, at: datetime) -> datetime:
        ts = at.timestamp()
        return datetime.fromtimestamp(ts - ts % self.seconds, tz=UTC)

    def add(self, item: T) -> list[list[T]]:
        closed: list[list[T]] = []
        if self.start is not None and item.at >= self.start + self.length:
            closed = self.flush()
        if self.start is None:
            self.start = self._slot(item.at)
        self.items.append(item)
        return closed

    def due(self, now: datetime) -> list[list[T]]:
        if self.start is not None and now >= self.start + self.length:
            return self.flush()
        return []

    def flush(self) -> list[list[T]]:
        items, self.items, self.start = self.items, [], None
        return [items] if items else []
