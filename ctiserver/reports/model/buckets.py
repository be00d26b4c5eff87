"""Hourly totals of the statistics records, exact under addition.

A call's figures count in the hour it was **offered** in (its outcome's record carries
``offered_at``); its talk and transfer count in the hour it **ended** (AgentComplete).
An agent's state and pause intervals are split at hour boundaries, each part counted
in its hour. Rows are keyed (hour, queue, agent): a call's offer, abandon and
unanswered outcome have agent ``""``, an answer and a completion the agent's
interface; an agent's state seconds have queue ``""`` (states are not per queue).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ctiserver.agents.model import AgentState, PauseInterval, StateInterval
from ctiserver.stats.model import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
)

HOUR = 3600

#: counted calls (integers) per row
CALL_COLUMNS = (
    "offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl",
    "completed", "transfers",
)
#: seconds, summed
SUM_COLUMNS = ("answer_wait", "abandon_wait", "talk")
#: seconds, the longest: kept as a maximum (exact under merging, unlike a median)
MAX_COLUMNS = ("answer_wait_max", "wait_max")
#: seconds an agent spent in each state (logged out is not counted)
STATE_COLUMNS = ("ready", "ringing", "on_call", "wrap_up", "paused")

#: queue names, interfaces and pause reasons are kept to this many characters
NAME_LENGTH = 64

Key = tuple[int, str, str]
Totals = dict[str, float]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds the totals are counted with (settings; docs/statistics.md)."""

    #: queue -> service level seconds (answered within it, ``<=``)
    service_level: Mapping[str, int] = field(default_factory=dict)
    default_service_level: int = 20
    #: an abandon after a wait shorter than this (``<``) is a short abandon
    short_abandon: int = 5
    #: the hotline's time zone: the local days of the daily totals (``levels.py``)
    timezone: str = "UTC"

    def service_level_of(self, queue: str) -> int:
        return self.service_level.get(queue, self.default_service_level)


def hours_of(start: float, end: float) -> Iterator[tuple[int, float]]:
    """(epoch hour, seconds of [start, end) within it) for each hour the span touches."""
    hour = int(start // HOUR)
    while hour * HOUR < end:
        seconds = min(end, (hour + 1) * HOUR) - max(start, hour * HOUR)
        if seconds > 0:
            yield hour, seconds
        hour += 1


class HourlyTotals:
    """Records folded into per (hour, queue, agent) totals, and pause seconds per
    (hour, agent, reason)."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.rows: dict[Key, Totals] = {}
        self.pauses: dict[Key, float] = {}

    @classmethod
    def of(cls, records: Iterable[Record], thresholds: Thresholds) -> HourlyTotals:
        totals = cls(thresholds)
        for record in records:
            totals.add(record)
        return totals

    def add(self, record: Record) -> None:
        if isinstance(record, StateInterval):
            self._add_state(record)
        elif isinstance(record, PauseInterval):
            for hour, seconds in hours_of(record.start, record.end):
                key = (hour, record.interface[:NAME_LENGTH], (record.reason or "")[:NAME_LENGTH])
                self.pauses[key] = self.pauses.get(key, 0.0) + seconds
        elif isinstance(record, CallOffered):
            self._row(record.at, record.queue, "")["offered"] += 1
        elif isinstance(record, CallAnswered):
            self._add_answer(record)
        elif isinstance(record, CallAbandoned):
            row = self._row(record.offered_at, record.queue, "")
            row["abandoned"] += 1
            row["abandon_wait"] += record.wait_seconds
            row["wait_max"] = max(row["wait_max"], record.wait_seconds)
            if record.wait_seconds < self.thresholds.short_abandon:
                row["short_abandoned"] += 1
        elif isinstance(record, CallUnanswered):
            row = self._row(record.offered_at, record.queue, "")
            row["unanswered"] += 1
            row["wait_max"] = max(row["wait_max"], record.wait_seconds)
        elif isinstance(record, CallCompleted):
            row = self._row(record.at, record.queue, record.interface)
            row["completed"] += 1
            row["talk"] += record.talk_seconds
            if record.reason == "transfer":
                row["transfers"] += 1

    def only_hours(self, first: int, end: int) -> HourlyTotals:
        """The totals of the hours in [first, end) only (a rebuilt range)."""
        kept = HourlyTotals(self.thresholds)
        kept.rows = {k: v for k, v in self.rows.items() if first <= k[0] < end}
        kept.pauses = {k: v for k, v in self.pauses.items() if first <= k[0] < end}
        return kept

    def _row(self, at: float, queue: str, agent: str) -> Totals:
        key = (int(at // HOUR), queue[:NAME_LENGTH], agent[:NAME_LENGTH])
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = dict.fromkeys(
                (*CALL_COLUMNS, *SUM_COLUMNS, *MAX_COLUMNS, *STATE_COLUMNS), 0.0
            )
        return row

    def _add_answer(self, record: CallAnswered) -> None:
        row = self._row(record.offered_at, record.queue, record.interface)
        row["answered"] += 1
        row["answer_wait"] += record.wait_seconds
        row["answer_wait_max"] = max(row["answer_wait_max"], record.wait_seconds)
        row["wait_max"] = max(row["wait_max"], record.wait_seconds)
        if record.wait_seconds <= self.thresholds.service_level_of(record.queue):
            row["answered_in_sl"] += 1

    def _add_state(self, record: StateInterval) -> None:
        if record.state is AgentState.LOGGED_OUT:
            return
        for hour, seconds in hours_of(record.start, record.end):
            self._row(hour * HOUR, "", record.interface)[record.state.value] += seconds


def combine(into: dict[str, float], totals: Mapping[str, float]) -> dict[str, float]:
    """Add ``totals`` to ``into`` (sums added, maxima kept as the greater); ``into``."""
    for name, value in totals.items():
        if name in MAX_COLUMNS:
            into[name] = max(into.get(name, 0.0), value)
        else:
            into[name] = into.get(name, 0.0) + value
    return into
