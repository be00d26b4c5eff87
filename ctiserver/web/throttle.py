"""Login throttling: password guessing is slowed down to nothing, a real user is not locked out.

Failures are counted per (username, client address) and per client address, over a
sliding window. Past a few failures a key must wait before its next attempt, the wait
doubling with each further failure (capped). A user whose password is being guessed from
one address can still log in from another; an address trying many usernames is slowed
for all of them. A success clears the (username, address) count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass(frozen=True)
class ThrottleRules:
    #: failures of one user from one address before waits begin
    per_user: int = 5
    #: failures from one address (any users) before waits begin
    per_address: int = 30
    #: the first wait; doubled for each failure after that
    first_wait: float = 1.0
    max_wait: float = 900.0
    #: failures older than this are forgotten
    window: float = 3600.0
    #: keys kept at most (the oldest are forgotten first)
    max_keys: int = 100_000


class LoginThrottle:
    def __init__(
        self, rules: ThrottleRules | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = rules or ThrottleRules()
        self._clock = clock
        self._failures: dict[tuple[str, str], _Failures] = {}

    def wait(self, username: str, address: str) -> float:
        """Seconds before this attempt may be tried; 0 when it may be tried now."""
        now = self._clock()
        return max(
            self._wait(("user", f"{address}\0{username}"), self.rules.per_user, now),
            self._wait(("address", address), self.rules.per_address, now),
        )

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key in (("user", f"{address}\0{username}"), ("address", address)):
            entry = self._current(key, now) or _Failures()
            entry.count += 1
            entry.last = now
            self._failures.pop(key, None)
            self._failures[key] = entry
        self._bound()

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop(("user", f"{address}\0{username}"), None)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry.last > self.rules.window:
            del self._failures[key]
            return None
        return entry

    def _wait(self, key: tuple[str, str], allowed: int, now: float) -> float:
        entry = self._current(key, now)
        if entry is None or entry.count < allowed:
            return 0.0
        wait = min(self.rules.first_wait * 2 ** (entry.count - allowed), self.rules.max_wait)
        return max(0.0, entry.last + wait - now)

    def _bound(self) -> None:
        """Insertion order is last-failure order: the oldest keys go first."""
        while len(self._failures) > self.rules.max_keys:
            del self._failures[next(iter(self._failures))]
