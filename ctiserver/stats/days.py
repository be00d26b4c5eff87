"""The hotline's days: local midnights, and a log that holds today only.

Every record is stored as it happens; in memory the statistics log needs only the
current local day (the live figures). :class:`TodayOnly` follows the records and, at
the first one of a new day, forgets the days before, so a server running for months
holds one day of records, not all of them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ctiserver.stats.model import Record, StatsLog


class HotlineDays:
    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def day_of(self, at: float) -> dt.date:
        return dt.datetime.fromtimestamp(at, self.zone).date()

    def midnight(self, day: dt.date) -> float:
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()

    def start_of_day(self, at: float) -> float:
        return self.midnight(self.day_of(at))

    def end_of_day(self, at: float) -> float:
        return self.midnight(self.day_of(at) + dt.timedelta(days=1))


class TodayOnly:
    """A listener of the log's records that forgets past days when a new day begins."""

    def __init__(self, log: StatsLog, days: HotlineDays, now: float) -> None:
        self._log = log
        self._days = days
        self._day_end = days.end_of_day(now)

    def __call__(self, record: Record) -> None:
        if record.at >= self._day_end:
            self._log.forget_before(self._days.start_of_day(record.at))
            self._day_end = self._days.end_of_day(record.at)
