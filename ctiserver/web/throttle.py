"""Login throttling: password guessing is slowed down to nothing, and nobody can lock
everyone out.

Failures are counted per account (its user name, whether it exists or not) and per
(account, client address), in the database so that every server counts the same
(``ctiserver.users.logins``). Past a few failures a key must wait before its next attempt,
the wait doubling with each further failure (capped). The pair's wait stops one address
guessing one account; the account's wait, short, slows guessing spread over many addresses
while its owner waits at most a minute. Failures for made-up names count only against those
names, so they never hold back a real user's correct password. A success clears the pair.

The client's address is the peer's, or from ``X-Forwarded-For`` when the peer is a trusted
proxy (``ctiserver.web.remotes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol


class FailureCounts(Protocol):
    async def counts(self, keys: Collection[str]) -> dict[str, tuple[int, float]]: ...

    async def add(self, keys: Collection[str], now: float, window: float) -> None: ...

    async def clear(self, key: str) -> None: ...


@dataclass(frozen=True)
class ThrottleRules:
    #: failures for one account from one address before waits begin
    per_pair: int = 5
    #: failures for one account from any addresses before waits begin
    per_account: int = 20
    #: the first wait; doubled for each failure after that
    first_wait: float = 1.0
    #: the longest wait of a pair
    max_wait: float = 900.0
    #: the longest wait of an account: its owner, from a fresh address, waits no longer
    max_account_wait: float = 60.0
    #: failures older than this are forgotten
    window: float = 3600.0


def wait_after(count: int, last: float, allowed: int, first_wait: float, max_wait: float, now: float) -> float:
    """Seconds still to wait after ``count`` failures, the last at ``last``."""
    if count < allowed:
        return 0.0
    wait = min(first_wait * 2 ** min(count - allowed, 32), max_wait)
    return max(0.0, last + wait - now)


class MemoryFailures:
    """:class:`FailureCounts` in a dict (tests; a server uses the database's)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, float]] = {}

    async def counts(self, keys: Collection[str]) -> dict[str, tuple[int, float]]:
        return {key: self.rows[key] for key in keys if key in self.rows}

    async def add(self, keys: Collection[str], now: float, window: float) -> None:
        for key in keys:
            count, last = self.rows.get(key, (0, now))
            self.rows[key] = (1 if now - last > window else count + 1, now)
        self.rows = {k: v for k, v in self.rows.items() if now - v[1] <= window}

    async def clear(self, key: str) -> None:
        self.rows.pop(key, None)


class LoginThrottle:
    def __init__(
        self, failures: FailureCounts | None = None, rules: ThrottleRules | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.failures = failures or MemoryFailures()
        self.rules = rules or ThrottleRules()
        self._clock = clock

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        name = username[:64]
        return f"account:{name}", f"pair:{address[:64]} {name}"

    async def wait(self, username: str, address: str) -> float:
        """Seconds before this attempt may be tried; 0 when it may be tried now."""
        account, pair = self._keys(username, address)
        found = await self.failures.counts((account, pair))
        now, rules = self._clock(), self.rules
        waits = [0.0]
        for key, allowed, longest in ((account, rules.per_account, rules.max_account_wait),
                                      (pair, rules.per_pair, rules.max_wait)):
            if key in found:
                count, last = found[key]
                if now - last <= rules.window:
                    waits.append(wait_after(count, last, allowed, rules.first_wait, longest, now))
        return max(waits)

    async def failed(self, username: str, address: str) -> None:
        await self.failures.add(self._keys(username, address), self._clock(), self.rules.window)

    async def succeeded(self, username: str, address: str) -> None:
        await self.failures.clear(self._keys(username, address)[1])
