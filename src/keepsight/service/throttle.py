"""Login throttling: failed sign-ins counted per user name and per client address.

Argon2 makes each guess slow, but not slow enough against a password list: after
``max_per_user`` failures for one name (or ``max_per_address`` from one address, which
catches one machine trying many names) within the window, sign-ins for that key are
refused with 429 until the oldest failure leaves the window, even with the right password
(otherwise the lock would tell an attacker when a guess was right). A success clears the
name's failures. The failures live in the catalog (``svc_login_failures``), so every worker
process of ``keepsight serve --workers N`` counts the same ones; the clock is the wall clock
for the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection

from keepsight.service.errors import TooManyRequests
from keepsight.service.store import logins

Transaction = Callable[[], AbstractContextManager[Connection]]


class LoginThrottle:
    def __init__(self, transaction: Transaction, *, max_per_user: int, max_per_address: int,
                 window_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.transaction = transaction
        self.limits = {"user": max_per_user, "address": max_per_address}
        self.window = window_seconds
        self.clock = clock

    def check(self, user: str, address: str) -> None:
        """Raise :class:`TooManyRequests` when either key used up its failures in the window."""
        now = self.clock()
        with self.transaction() as conn:
            for kind, key in self._keys(user, address):
                limit = self.limits[kind]
                times = logins.recent(conn, kind, key, since=now - self.window, limit=limit)
                if len(times) >= limit:
                    retry_after = max(1, int(times[0] + self.window - now + 0.999))
                    raise TooManyRequests(
                        f"too many failed sign-ins; try again in {retry_after} s", retry_after=retry_after)

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self.transaction() as conn:
            logins.record(conn, list(self._keys(user, address)), now)
            logins.prune(conn, before=now - self.window)

    def succeeded(self, user: str) -> None:
        with self.transaction() as conn:
            logins.clear(conn, *self._keys(user, "")[0])

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        # Names are capped like the column; a longer one is no account anyway.
        return ("user", user.casefold()[:256]), ("address", address[:256])
