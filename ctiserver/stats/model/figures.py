"""The figures of a period, computed from records alone (docs/statistics.md defines them).

``QueueFigures.from_records`` counts stored records; ``live_figures`` adds the
agents' intervals still open, cut at now; ``TodayFigures`` gives the same
figures without recounting the day. The longest current wait is not in the
log: ``longest_waits`` reads it from the live calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ctiserver.agents.model import Agent, AgentState, PauseInterval, StateInterval
from ctiserver.calls.model import Call, iso_utc, waiting_calls
from ctiserver.stats.model.log import StatsLog
from ctiserver.stats.model.records import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
)

SERVICE_LEVEL_SECONDS = 20


@dataclass(slots=True)
class QueueTotals:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    unanswered: int = 0
    answered_within_sl: int = 0
    answer_wait_total: float = 0.0
    longest_answer_wait: float = 0.0
    abandon_wait_total: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Percent answered within the threshold, of answered + abandoned; None if none."""
        handled = self.answered + self.abandoned
        return 100.0 * self.answered_within_sl / handled if handled else None

    @property
    def average_answer_seconds(self) -> float | None:
        return self.answer_wait_total / self.answered if self.answered else None

    @property
    def average_abandon_seconds(self) -> float | None:
        return self.abandon_wait_total / self.abandoned if self.abandoned else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "unanswered": self.unanswered,
            "answered_within_sl": self.answered_within_sl,
            "service_level": _round(self.service_level, 1),
            "average_answer_seconds": _round(self.average_answer_seconds, 1),
            "longest_answer_wait": round(self.longest_answer_wait, 1),
            "average_abandon_seconds": _round(self.average_abandon_seconds, 1),
        }


@dataclass(slots=True)
class AgentTotals:
    answered: int = 0
    state_seconds: dict[AgentState, float] = field(default_factory=dict)
    #: pause reason ('' when none was given) -> seconds
    pause_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "state_seconds": {s.value: round(v, 1) for s, v in self.state_seconds.items()},
            "pause_seconds": {r: round(v, 1) for r, v in self.pause_seconds.items()},
        }


@dataclass(slots=True)
class QueueFigures:
    """Per queue and per agent figures of the period [day_start, now]."""

    day_start: float
    now: float
    service_level_seconds: float
    queues: dict[str, QueueTotals] = field(default_factory=dict)
    agents: dict[str, AgentTotals] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls,
        records: Iterable[Record],
        day_start: float,
        now: float,
        service_level_seconds: float = SERVICE_LEVEL_SECONDS,
    ) -> QueueFigures:
        figures = cls(day_start, now, service_level_seconds)
        for record in records:
            figures.add(record)
        return figures

    def add(self, record: Record) -> None:
        """Count one more record of the period."""
        if isinstance(record, StateInterval | PauseInterval):
            self._add_interval(record)
        elif not isinstance(record, CallCompleted):  # talk time is not a figure of the day
            self._add_call(record)

    def cut_at(self, now: float) -> QueueFigures:
        """A copy as of ``now``, to add the open intervals to."""
        return QueueFigures(
            self.day_start, now, self.service_level_seconds,
            {name: dataclasses.replace(q) for name, q in self.queues.items()},
            {name: AgentTotals(a.answered, dict(a.state_seconds), dict(a.pause_seconds))
             for name, a in self.agents.items()},
        )

    def _add_call(self, r: CallOffered | CallAnswered | CallAbandoned | CallUnanswered) -> None:
        offered_at = r.at if isinstance(r, CallOffered) else r.offered_at
        # A call counts in the period it was offered in, its outcome once known by now.
        if not (self.day_start <= offered_at <= self.now and r.at <= self.now):
            return
        q = self.queues.setdefault(r.queue, QueueTotals())
        if isinstance(r, CallOffered):
            q.offered += 1
        elif isinstance(r, CallAnswered):
            q.answered += 1
            q.answer_wait_total += r.wait_seconds
            q.longest_answer_wait = max(q.longest_answer_wait, r.wait_seconds)
            if r.wait_seconds <= self.service_level_seconds:
                q.answered_within_sl += 1
            self.agents.setdefault(r.interface, AgentTotals()).answered += 1
        elif isinstance(r, CallAbandoned):
            q.abandoned += 1
            q.abandon_wait_total += r.wait_seconds
        else:
            q.unanswered += 1

    def _add_interval(self, r: StateInterval | PauseInterval) -> None:
        seconds = min(r.end, self.now) - max(r.start, self.day_start)
        if seconds <= 0:
            return
        agent = self.agents.setdefault(r.interface, AgentTotals())
        if isinstance(r, StateInterval):
            agent.state_seconds[r.state] = agent.state_seconds.get(r.state, 0.0) + seconds
        else:
            reason = r.reason or ""
            agent.pause_seconds[reason] = agent.pause_seconds.get(reason, 0.0) + seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "day_start": iso_utc(self.day_start),
            "now": iso_utc(self.now),
            "service_level_seconds": self.service_level_seconds,
            "queues": {name: q.to_dict() for name, q in sorted(self.queues.items())},
            "agents": {name: a.to_dict() for name, a in sorted(self.agents.items())},
        }


def open_intervals(agents: Iterable[Agent], now: float) -> list[Record]:
    """The agents' current state and pause, as if they closed at ``now``."""
    intervals: list[Record] = []
    for a in agents:
        if now > a.state_since:
            intervals.append(
                StateInterval(a.interface, a.state, a.state_since, now, a.state_reason)
            )
        if a.pause_started is not None and now > a.pause_started:
            intervals.append(PauseInterval(a.interface, a.pause_reason, a.pause_started, now))
    return intervals


def live_figures(
    log: StatsLog,
    agents: Iterable[Agent],
    day_start: float,
    now: float,
    service_level_seconds: float = SERVICE_LEVEL_SECONDS,
) -> QueueFigures:
    """The figures so far: the log's records plus the open intervals cut at ``now``."""
    records = [*log.records(since=day_start), *open_intervals(agents, now)]
    return QueueFigures.from_records(records, day_start, now, service_level_seconds)


class TodayFigures:
    """``live_figures`` at the cost of the agents alone, however long the day has been.

    The wallboard reads the figures every second; recounting every record of the day
    each time grows with the day (tens of thousands of records by evening on a busy
    hotline). Instead the day's records are counted once, as the log appends them, and
    each reading copies those totals and adds the agents' open intervals cut at now.
    Same records, same definitions: the figures equal ``live_figures``.
    """

    def __init__(self, log: StatsLog, service_level_seconds: float = SERVICE_LEVEL_SECONDS) -> None:
        self._log = log
        self._service_level_seconds = service_level_seconds
        self._counted: QueueFigures | None = None
        self._generation = -1
        log.subscribe(self._append)

    def figures(self, agents: Iterable[Agent], day_start: float, now: float) -> QueueFigures:
        counted = self._counted
        if counted is None or counted.day_start != day_start or self._generation != self._log.generation:
            # a new day, or history restored: count the day's records again, once
            counted = self._counted = QueueFigures.from_records(
                self._log.records(since=day_start), day_start, math.inf, self._service_level_seconds
            )
            self._generation = self._log.generation
        figures = counted.cut_at(now)
        for interval in open_intervals(agents, now):
            figures.add(interval)
        return figures

    def _append(self, record: Record) -> None:
        if self._counted is not None and record.at >= self._counted.day_start:
            self._counted.add(record)


def longest_waits(calls: Iterable[Call], now: float) -> dict[str, float]:
    """Per queue, how long its longest-waiting caller has waited (live calls only)."""
    longest: dict[str, float] = {}
    for call in waiting_calls(calls):
        if call.queue is not None and call.queue not in longest:
            longest[call.queue] = call.waited(now) or 0.0
    return longest


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
