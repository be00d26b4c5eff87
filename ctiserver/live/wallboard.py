"""The supervisor's live view, built from the same records as the reports.

Today's figures come from the statistics log (docs/statistics.md), the waiting
callers and longest waits from the live calls, the agents from the board. The
snapshot is pushed to supervisors at most once a second while anything changes,
and every few seconds regardless (time in state and waits keep counting).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Collection
from datetime import date, timedelta
from typing import Any, Protocol

from ctiserver.agents.model import AgentBoard
from ctiserver.calls.model import Call, CallTracker, CallUpdate, iso_utc, waiting_calls
from ctiserver.settings import HotlineSettings
from ctiserver.stats import HotlineDays, StatsRepository
from ctiserver.stats.model import (
    SERVICE_LEVEL_SECONDS,
    QueueFigures,
    QueueTotals,
    StatsLog,
    TodayFigures,
    longest_waits,
    open_intervals,
)
from ctiserver.vocabulary import SUPERVISOR_ROLES

#: how many ended calls the live view keeps to show as "recently ended"
RECENT_ENDED = 20


class RolePush(Protocol):
    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...


class WallboardService:
    def __init__(
        self,
        *,
        board: AgentBoard,
        stats: StatsLog,
        calls: CallTracker,
        queues: Collection[str],
        history: StatsRepository | None = None,
        timezone: str = HotlineSettings().timezone,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._history = history
        self._board = board
        self._today = TodayFigures(stats)
        self._calls = calls
        self._queues = tuple(queues)
        self._days = HotlineDays(timezone)
        self._clock = clock
        self._changed = asyncio.Event()
        #: the last calls that ended, newest first (the tracker forgets a call once it ends)
        self._ended: deque[Call] = deque(maxlen=RECENT_ENDED)

    def changed(self, *_: object) -> None:
        """A listener for anything that moves the figures."""
        self._changed.set()

    def call_changed(self, update: CallUpdate) -> None:
        """The call tracker's listener: keeps the calls that end, and moves the figures."""
        if update.kind == "ended":
            self._ended.appendleft(update.call)
        self._changed.set()

    def day_start(self, now: float) -> float:
        return self._days.start_of_day(now)

    def today(self) -> date:
        return self._days.day_of(self._clock())

    async def daily_report(self, day: date) -> dict[str, Any]:
        """A day's figures (local midnight to midnight) from the stored records: the same
        records, and the same definitions, as the live view."""
        start, end = self._days.midnight(day), self._days.midnight(day + timedelta(days=1))
        now = self._clock()
        records = [] if self._history is None else await self._history.between(start, end)
        if start <= now < end:
            # today: the states and pauses under way count up to now, as on the live view
            records = [*records, *open_intervals(self._board.all(), now)]
        figures = QueueFigures.from_records(records, start, min(end, now), SERVICE_LEVEL_SECONDS)
        return {
            "date": day.isoformat(),
            "timezone": str(self._days.zone),
            "queues": [{"name": name, **_counted(figures, name)} for name in self._queues],
            "agents": {interface: totals.to_dict() for interface, totals in sorted(figures.agents.items())},
        }

    def snapshot(self) -> dict[str, Any]:
        now = self._clock()
        figures = self._today.figures(self._board.all(), self.day_start(now), now)
        active = self._calls.active_calls()
        waits = longest_waits(active, now)
        waiting = waiting_calls(active)
        queues = []
        for name in self._queues:
            counted = _counted(figures, name)
            queues.append({
                "name": name,
                "waiting": sum(1 for call in waiting if call.queue == name),
                "longest_wait": round(waits.get(name, 0.0), 1),
                **{key: counted[key] for key in ("offered", "answered", "abandoned", "answered_within_sl")},
                "service_level": counted["service_level"],
            })
        agents = [
            {
                "extension": agent.extension,
                "name": agent.name,
                "interface": agent.interface,
                # ready, but on a call the queues did not give (its phone's state): shown busy
                "state": "busy" if agent.phone_busy else agent.state.value,
                "since": iso_utc(agent.state_since),
                "seconds_in_state": round(agent.state_seconds(now), 1),
                "reason": agent.state_reason,
                "queues": sorted(agent.queues),
            }
            for agent in sorted(self._board.all(), key=lambda a: a.interface)
        ]
        return {
            "at": iso_utc(now),
            "queues": queues,
            "agents": agents,
            "waiting_calls": [
                {"call_id": call.linkedid, "caller_number": call.caller_number, "caller_name": call.caller_name,
                 "queue": call.queue, "waiting_seconds": round(call.waited(now) or 0.0, 1)}
                for call in waiting
            ],
            # the calls going on, then the last ones that ended (newest first)
            "recent_calls": [call.to_dict(now) for call in (*active, *self._ended)],
        }

    async def push_forever(self, push: RolePush, *, min_interval: float = 1.0, max_interval: float = 5.0) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max_interval)
            self._changed.clear()
            push.to_roles(SUPERVISOR_ROLES, {"type": "wallboard", "wallboard": self.snapshot()})
            await asyncio.sleep(min_interval)


def _counted(figures: QueueFigures, queue: str) -> dict[str, Any]:
    """A queue's counted figures (zeros when it had no call), service level as 0..1."""
    counted = (figures.queues.get(queue) or QueueTotals()).to_dict()
    level = counted["service_level"]
    counted["service_level"] = None if level is None else round(level / 100.0, 4)
    return counted
