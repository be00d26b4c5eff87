"""Coarser levels of the hourly totals, so that a report reads the fewest rows that
answer it exactly.

Every level is a sum of hourly rows (maxima kept as maxima), so it is exact:

- per **local day**, queue and agent (the agents report, and any report filtered by an agent),
- per local day and queue (the queue and trend reports; agents summed, the agents' state
  rows of queue ``""`` left out),
- per hour and queue (the weekday x hour heat map; agents summed),
- pause seconds per local day, agent and reason.

An hour belongs to the local day its start falls in (``LocalDays.of_hour``); with a time
zone whose offset is whole hours (the hotline's), a local day is exactly its 24 (23, 25)
hours. Local days are numbered from 1970-01-01 (``day_number``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import ZoneInfo

from ctiserver.reports.model.buckets import (
    CALL_COLUMNS,
    HOUR,
    MAX_COLUMNS,
    SUM_COLUMNS,
    HourlyTotals,
    combine,
)

EPOCH_DAY = dt.date(1970, 1, 1)
#: the columns of the levels summed over agents (no agent states)
QUEUE_LEVEL_COLUMNS = (*CALL_COLUMNS, *SUM_COLUMNS, *MAX_COLUMNS)


def day_number(day: dt.date) -> int:
    """The local day's number: days since 1970-01-01."""
    return (day - EPOCH_DAY).days


def day_of_number(number: int) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=number)


class LocalDays:
    """Epoch hours and local days of one time zone."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.of_hour = lru_cache(maxsize=100_000)(self._of_hour)

    def _of_hour(self, hour: int) -> int:
        return day_number(dt.datetime.fromtimestamp(hour * HOUR, self.zone).date())

    def first_hour(self, day: int) -> int:
        """The first epoch hour of the local day ``day`` (the first that starts in it)."""
        date = day_of_number(day)
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=self.zone).timestamp()
        return int(-(-midnight // HOUR))

    def whole_days(self, first: int, end: int) -> tuple[int, int]:
        """The hours [first, end) widened to the whole local days they touch."""
        return self.first_hour(self.of_hour(first)), self.first_hour(self.of_hour(end - 1) + 1)


Key2 = tuple[int, str]
Key3 = tuple[int, str, str]


class CoarseTotals:
    """The coarser levels of some hourly totals (see the module)."""

    def __init__(self) -> None:
        self.days: dict[Key3, dict[str, float]] = {}
        self.queue_days: dict[Key2, dict[str, float]] = {}
        self.queue_hours: dict[Key2, dict[str, float]] = {}
        self.pause_days: dict[Key3, float] = {}

    @classmethod
    def of(cls, hourly: HourlyTotals, days: LocalDays) -> CoarseTotals:
        coarse = cls()
        for (hour, queue, agent), values in hourly.rows.items():
            day = days.of_hour(hour)
            coarse.add_row(hour, day, queue, agent, values)
        for (hour, agent, reason), seconds in hourly.pauses.items():
            key = (days.of_hour(hour), agent, reason)
            coarse.pause_days[key] = coarse.pause_days.get(key, 0.0) + seconds
        return coarse

    def add_row(self, hour: int, day: int, queue: str, agent: str, values: Mapping[str, float]) -> None:
        """Add one hourly row (of ``hour``, in the local day ``day``) to every level."""
        combine(self.days.setdefault((day, queue, agent), {}), values)
        if queue:
            calls = {name: values.get(name, 0.0) for name in QUEUE_LEVEL_COLUMNS}
            combine(self.queue_days.setdefault((day, queue), {}), calls)
            combine(self.queue_hours.setdefault((hour, queue), {}), calls)

    def __bool__(self) -> bool:
        return bool(self.days or self.pause_days)
