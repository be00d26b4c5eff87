"""Business hours for the SLA: weekly opening spans in the hotline's time zone, minus holidays.

The spans are written as in settings, e.g. ``"mon-fri 09:00-18:00"`` or
``"sat,sun 10:00-16:00"`` (days as ``ctiserver.ivr.hours.DAYS``, times read by its
``minutes``; ``to`` may be ``24:00``); a holiday is a local date ``YYYY-MM-DD`` on
which nothing is open. Time outside the spans is not counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ctiserver.ivr.hours import DAYS, minutes

#: no calendar is open less than once in this many days: beyond, a due time is never
MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    #: weekday (0 = Monday) -> its opening spans in minutes since local midnight
    spans: Mapping[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[dt.date]

    @classmethod
    def parse(cls, hours: Sequence[str], holidays: Sequence[str], timezone: str) -> BusinessCalendar:
        """ValueError naming what is wrong in a span or a date."""
        spans: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
        for text in hours:
            days, _, times = text.strip().partition(" ")
            start, sep, end = times.strip().partition("-")
            if not sep:
                raise ValueError(f"business hours {text!r}: expected e.g. 'mon-fri 09:00-18:00'")
            span = (minutes(start), minutes(end))
            if span[0] >= span[1]:
                raise ValueError(f"business hours {text!r}: the span ends before it starts")
            for day in _days(days, text):
                spans[day].append(span)
        try:
            dates = frozenset(dt.date.fromisoformat(d.strip()) for d in holidays if d.strip())
        except ValueError as exc:
            raise ValueError(f"holidays: {exc} (expected YYYY-MM-DD)") from exc
        return cls(ZoneInfo(timezone), {d: tuple(sorted(s)) for d, s in spans.items()}, dates)

    def intervals(self, since: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open intervals (UTC) from the local day of ``since`` on, in order, for MAX_DAYS."""
        day = since.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if day not in self.holidays:
                for start, end in self.spans[day.weekday()]:
                    yield self._at(day, start), self._at(day, end)
            day += dt.timedelta(days=1)

    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Open seconds in ``[start, end)``."""
        total = 0.0
        if end <= start:
            return total
        for opens, closes in self.intervals(start):
            if opens >= end:
                break
            total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
        return total

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime | None:
        """The instant ``seconds`` open seconds after ``start`` (None: never open again)."""
        left = seconds
        for opens, closes in self.intervals(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            span = (closes - begin).total_seconds()
            if left <= span:
                return begin + dt.timedelta(seconds=left)
            left -= span
        return None

    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=minute)
        return local.astimezone(dt.UTC)


def _days(text: str, where: str) -> list[int]:
    found: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = DAYS.index(first[:3])
            b = DAYS.index(last[:3]) if last else a
        except ValueError as exc:
            raise ValueError(f"business hours {where!r}: unknown day in {part!r}") from exc
        found += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(b + 1)]
    return found
