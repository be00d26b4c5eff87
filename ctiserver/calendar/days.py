"""The dates that override the weekly hours: holidays (closed all day) and make-up working
days (调休: open as a working day whatever the weekday, e.g. a Saturday before a long holiday).

The official arrangement comes from a kept source, the ``chinese-calendar`` package (the
State Council's yearly notice, 国务院办公厅关于部分节假日安排的通知; version 1.11.0 holds
2004 to 2026). A year the package does not know has no official dates: the operator adds
them (``calendar.holidays``, ``calendar.workdays``) until the package is upgraded;
``DayRules.uncovered`` tells which years are missing. The operator's own dates win over the
official ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import chinese_calendar

from ctiserver.calendar.week import DAYS, day_text
from ctiserver.settings import CalendarSettings

#: the official arrangements known: country code -> where they come from
OFFICIAL_SOURCES = {"CN": f"chinese-calendar {chinese_calendar.__version__}"}

DayKind = Literal["holiday", "workday"]


@dataclass(frozen=True)
class DayRules:
    """Holidays and make-up working days, official and the operator's own."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    #: the first and last year of the official arrangement (None: no official dates)
    years: tuple[int, int] | None = None
    #: the weekday (0 = Monday) whose hours a make-up working day keeps, besides its own
    workday_as: int = 0
    #: where the official dates come from ("" when none)
    source: str = field(default="", compare=False)
    #: the years the operator gave dates of
    own_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"both a holiday and a working day: {', '.join(sorted(map(str, both)))}")

    @classmethod
    def official(cls, country: str = "CN", *, workday_as: str = "mon") -> DayRules:
        """The official holidays and make-up working days of ``country`` ("" for none)."""
        as_day = _weekday(workday_as)
        if not country:
            return cls(workday_as=as_day)
        if country.upper() != "CN":
            raise ValueError(f"official holidays of {country!r} are not known (CN, or \"\" for none)")
        holidays = frozenset(chinese_calendar.holidays)
        workdays = frozenset(chinese_calendar.workdays)
        years = (min(d.year for d in holidays), max(d.year for d in holidays))
        return cls(holidays, workdays, years, as_day, OFFICIAL_SOURCES["CN"])

    @classmethod
    def from_settings(cls, settings: CalendarSettings) -> DayRules:
        """The server's dates: the official arrangement and the operator's own."""
        official = cls.official(settings.official, workday_as=settings.workday_hours)
        return official.plus(holidays=settings.holidays, workdays=settings.workdays)

    def plus(self, holidays: Iterable[object] = (), workdays: Iterable[object] = ()) -> DayRules:
        """With the operator's own dates (``YYYY-MM-DD``), which win over the official ones;
        ValueError naming a bad date."""
        extra_holidays, extra_workdays = _dates(holidays, "holidays"), _dates(workdays, "workdays")
        return DayRules(
            (self.holidays - extra_workdays) | extra_holidays,
            (self.workdays - extra_holidays) | extra_workdays,
            self.years, self.workday_as, self.source,
            self.own_years | {d.year for d in extra_holidays | extra_workdays},
        )

    def kind(self, day: dt.date) -> DayKind | None:
        """``holiday``, ``workday`` (a make-up working day), or None: the weekly hours apply."""
        if day in self.holidays:
            return "holiday"
        if day in self.workdays:
            return "workday"
        return None

    def uncovered(self, first: int, last: int) -> list[int]:
        """The years of ``first..last`` the official arrangement does not know and the
        operator gave no dates of (none when no official arrangement is followed)."""
        if self.years is None:
            return []
        low, high = self.years
        return [y for y in range(first, last + 1) if not low <= y <= high and y not in self.own_years]


def _weekday(name: str) -> int:
    try:
        return DAYS.index(name.strip().lower()[:3])
    except ValueError:
        raise ValueError(f"unknown day {name!r} (mon..sun)") from None


def _dates(values: Iterable[object], what: str) -> frozenset[dt.date]:
    found = set()
    for value in values:
        text = day_text(value)
        if not text:
            continue
        try:
            found.add(dt.date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"{what}: {text!r} is not a date (expected YYYY-MM-DD)") from None
    return frozenset(found)


def uncovered_note(days: DayRules, year: int) -> str | None:
    """What to tell the operator when the official arrangement of ``year`` or the next one
    is missing (the State Council publishes a year's in the November before)."""
    missing = days.uncovered(year, year + 1)
    if not missing:
        return None
    years = " and ".join(map(str, missing))
    return (f"{days.source} has no official holidays for {years}: add them to calendar.holidays and "
            "calendar.workdays, or upgrade the package")
