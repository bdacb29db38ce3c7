"""Login throttling: failed sign-ins counted per user name and per client address.

Argon2 makes each guess slow, but not slow enough against a password list: after
``max_per_user`` failures for one name (or ``max_per_address`` from one address, which
catches one machine trying many names) within the window, sign-ins for that key are
refused with 429 until the oldest failure leaves the window, even with the right password
(otherwise the lock would tell an attacker when a guess was right). A success clears the
name's failures. The counts live in the process: `keepsight serve` runs one worker.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from threading import Lock

from keepsight.service.errors import TooManyRequests

# Keys kept at most: an attacker spraying random names cannot grow memory without bound.
MAX_TRACKED_KEYS = 100_000


class LoginThrottle:
    def __init__(self, *, max_per_user: int, max_per_address: int, window_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"user": max_per_user, "address": max_per_address}
        self.window = window_seconds
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = Lock()

    def check(self, user: str, address: str) -> None:
        """Raise :class:`TooManyRequests` when either key used up its failures in the window."""
        now = self.clock()
        with self._lock:
            for key in self._keys(user, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    retry_after = max(1, int(times[0] + self.window - now + 0.999))
                    raise TooManyRequests(
                        f"too many failed sign-ins; try again in {retry_after} s", retry_after=retry_after)

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(user, address):
                times = self._recent(key, now) or deque()
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_TRACKED_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user.casefold()), None)

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", user.casefold()), ("address", address)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        """The key's failures still inside the window (older ones dropped), or None."""
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
