"""The business calendar: when a service is open, in its time zone.

A day's opening spans are its weekday's (``WeeklyHours``), unless ``DayRules`` says
otherwise: nothing on a holiday; on a make-up working day its own weekday's spans joined
with those of the weekday working days keep (``DayRules.workday_as``, Monday by
default), so a make-up Saturday is open like a weekday.

Instants are aware datetimes (a naive one is UTC) or epoch seconds; the answers are
aware datetimes in UTC. Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ctiserver.calendar.days import DayRules
from ctiserver.calendar.week import Spans, WeeklyHours, merge

#: an instant: an aware datetime, a naive one taken as UTC, or epoch seconds
Instant = dt.datetime | float

#: no calendar is open less than once in this many days: beyond, it is never open again
MAX_DAYS = 3660


def utc(at: Instant) -> dt.datetime:
    """``at`` as an aware datetime in UTC."""
    if isinstance(at, dt.datetime):
        return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(at, dt.UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    week: WeeklyHours
    days: DayRules = field(default_factory=DayRules)

    @classmethod
    def parse(
        cls, hours: Sequence[str] | str, holidays: Sequence[str] = (), timezone: str = "UTC",
        *, days: DayRules | None = None, overnight: bool = False,
    ) -> BusinessCalendar:
        """Weekly hours as text (``WeeklyHours.parse``), extra holidays (``YYYY-MM-DD``) and
        the zone, over ``days`` (default: no official dates); ValueError naming the problem."""
        rules = (days or DayRules()).plus(holidays=holidays)
        return cls(ZoneInfo(timezone), WeeklyHours.parse(hours, overnight=overnight), rules)

    def local(self, at: Instant) -> dt.datetime:
        """``at`` in the calendar's zone."""
        return utc(at).astimezone(self.zone)

    def spans_on(self, day: dt.date) -> Spans:
        """The opening spans (minutes since local midnight) of a local date."""
        kind = self.days.kind(day)
        if kind == "holiday":
            return ()
        own = self.week.on(day.weekday())
        if kind == "workday":
            return merge(own + self.week.on(self.days.workday_as))
        return own

    def is_open(self, at: Instant) -> bool:
        local = self.local(at)
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
        return any(start <= minute < end for start, end in self.spans_on(local.date()))

    def intervals(self, since: Instant) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open intervals (UTC) from the local day of ``since`` on, in order, for
        MAX_DAYS days; an interval running past midnight into the next day's is one."""
        day = self.local(since).date()
        pending: tuple[dt.datetime, dt.datetime] | None = None
        for _ in range(MAX_DAYS):
            for start, end in self.spans_on(day):
                opens, closes = self._at(day, start), self._at(day, end)
                if pending is not None and opens <= pending[1]:
                    pending = (pending[0], max(closes, pending[1]))
                    continue
                if pending is not None:
                    yield pending
                pending = (opens, closes)
            day += dt.timedelta(days=1)
        if pending is not None:
            yield pending

    def window(self, at: Instant) -> tuple[dt.datetime, dt.datetime] | None:
        """The open interval holding ``at``, else the next one; None: never open again. What
        a dialler may dial in: from the first to before the second."""
        moment = utc(at)
        for opens, closes in self._from_day_before(moment):
            if closes > moment:
                return opens, closes
        return None

    def next_open(self, at: Instant) -> dt.datetime | None:
        """``at`` itself when open, else when it next opens; None: never again."""
        window = self.window(at)
        if window is None:
            return None
        return max(window[0], utc(at))

    def seconds_between(self, start: Instant, end: Instant) -> float:
        """Open seconds in ``[start, end)``."""
        begin, finish = utc(start), utc(end)
        total = 0.0
        if finish <= begin:
            return total
        for opens, closes in self._from_day_before(begin):
            if opens >= finish:
                break
            total += max(0.0, (min(closes, finish) - max(opens, begin)).total_seconds())
        return total

    def add(self, start: Instant, seconds: float) -> dt.datetime | None:
        """The instant ``seconds`` open seconds after ``start`` (None: never open again)."""
        begin = utc(start)
        left = seconds
        for opens, closes in self._from_day_before(begin):
            if closes <= begin:
                continue
            moment = max(opens, begin)
            span = (closes - moment).total_seconds()
            if left <= span:
                return moment + dt.timedelta(seconds=left)
            left -= span
        return None

    def _from_day_before(self, at: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The intervals from the local day before ``at``: one running past midnight into
        ``at``'s day is seen whole."""
        return self.intervals(at - dt.timedelta(days=1))

    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=minute)
        return local.astimezone(dt.UTC)
