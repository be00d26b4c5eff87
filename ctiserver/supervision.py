"""Long-lived tasks that do not die quietly: one that raises (or returns) is logged with its
traceback and started again after a back-off, and its state is there for ``/healthz``.

A part is ``ok`` while running, ``restarting`` while it waits to start again, and stays
``degraded`` after a failure until it has run for ``healthy_after`` seconds without one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Run = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class PartHealth:
    state: str = "ok"
    restarts: int = 0
    last_error: str | None = None
    last_failure_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_failure_at": self.last_failure_at,
        }


class SupervisedTask:
    def __init__(
        self,
        name: str,
        run: Run,
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        healthy_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.health = PartHealth()
        self._run = run
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._healthy_after = healthy_after
        self._clock = clock

    async def run_forever(self) -> None:
        delay = self._first_delay
        while True:
            started = self._clock()
            try:
                await self._run()
                error = "returned, although it should run as long as the server"
                log.error("task %s %s; starting it again in %.1f s", self.name, error, delay)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("task %s failed; starting it again in %.1f s", self.name, delay)
            if self._clock() - started >= self._healthy_after:
                delay = self._first_delay
            self.health.restarts += 1
            self.health.last_error = error
            self.health.last_failure_at = time.time()
            self.health.state = "restarting"
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)
            self.health.state = "degraded"
            asyncio.get_running_loop().call_later(self._healthy_after, self._healed, self.health.restarts)

    def _healed(self, restarts: int) -> None:
        """No failure since the restart numbered ``restarts``: the part is well again."""
        if self.health.restarts == restarts and self.health.state == "degraded":
            self.health.state = "ok"
