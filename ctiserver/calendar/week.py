"""Weekly hours: the opening spans of each weekday, in minutes since local midnight.

Written as text, a span is ``[DAYS ]HH:MM-HH:MM``: ``"mon-fri 09:00-18:00"``,
``"sat,sun 10:00-16:00"``, or ``"08:00-20:00"`` for every day; several spans go in a
list or are separated by ``;``. A span covers ``from <= t < to``; ``to`` may be
``24:00``. Written as in a flow's ``hours`` node, a span is ``(days, from, to)``.
A span that ends before it starts runs past midnight only where the use allows it
(``overnight``): its end belongs to the next day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60

#: sorted, non-overlapping (start, end) minutes of one day
Spans = tuple[tuple[int, int], ...]

_SPAN = re.compile(r"^(.*?)\s*(\d[\d:]*)\s*-\s*(\d[\d:]*)$")


def minutes(value: Any) -> int:
    """``"HH:MM"`` as minutes since midnight (``"24:00"`` is 1440).

    An int is taken as already converted: YAML 1.1 reads an unquoted ``09:00`` as
    the sexagesimal number 540, which is exactly that.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    else:
        hours, sep, mins = str(value).strip().partition(":")
        if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2 or len(hours) > 2:
            raise ValueError(f"not a HH:MM time: {value!r}")
        if int(mins) > 59:
            raise ValueError(f"not a HH:MM time: {value!r}")
        result = int(hours) * 60 + int(mins)
    if not 0 <= result <= DAY_MINUTES:
        raise ValueError(f"not a time of day: {value!r}")
    return result


def merge(spans: Iterable[tuple[int, int]]) -> Spans:
    """Spans sorted, with overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def day_text(value: Any) -> str:
    """A date as ``YYYY-MM-DD`` (YAML may already have read it as a date)."""
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


@dataclass(frozen=True)
class WeeklyHours:
    """The opening spans of each weekday (index 0 = Monday)."""

    days: tuple[Spans, Spans, Spans, Spans, Spans, Spans, Spans]

    @classmethod
    def build(cls, spans: Iterable[tuple[Iterable[int], int, int]], *, overnight: bool = False) -> WeeklyHours:
        """From ``(weekdays, start minute, end minute)``; ValueError for an empty span, or
        one that ends before it starts unless ``overnight``."""
        found: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for weekdays, start, end in spans:
            if start == end or (start > end and not overnight):
                raise ValueError("the span ends before it starts" if start > end else "the span is empty")
            for day in weekdays:
                if start < end:
                    found[day].append((start, end))
                else:
                    found[day].append((start, DAY_MINUTES))
                    found[(day + 1) % 7].append((0, end))
        week = tuple(merge(day) for day in found)
        return cls((week[0], week[1], week[2], week[3], week[4], week[5], week[6]))

    @classmethod
    def parse(cls, lines: Sequence[str] | str, *, overnight: bool = False) -> WeeklyHours:
        """From text spans (see the module); ValueError naming the span that is wrong."""
        texts = [lines] if isinstance(lines, str) else list(lines)
        spans: list[tuple[list[int], int, int]] = []
        for text in (part.strip() for line in texts for part in line.split(";")):
            if not text:
                continue
            match = _SPAN.match(text)
            if match is None:
                raise ValueError(f"business hours {text!r}: expected e.g. 'mon-fri 09:00-18:00'")
            days, start, end = match.groups()
            try:
                span = (weekdays(days) if days.strip() else list(range(7)), minutes(start), minutes(end))
                cls.build([span], overnight=overnight)
            except ValueError as exc:
                raise ValueError(f"business hours {text!r}: {exc}") from exc
            spans.append(span)
        return cls.build(spans, overnight=overnight)

    @classmethod
    def of_spans(cls, spans: Iterable[tuple[Iterable[str], Any, Any]]) -> WeeklyHours:
        """From ``(day names, from, to)`` as a flow's ``hours`` node writes them (days
        ``mon``..``sun``; an empty list is every day)."""
        return cls.build(
            (weekdays(",".join(str(d) for d in days)) if days else range(7), minutes(start), minutes(end))
            for days, start, end in spans
        )

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open at every hour of every day."""
        return cls.build([(range(7), 0, DAY_MINUTES)])

    def on(self, weekday: int) -> Spans:
        return self.days[weekday]


def weekdays(text: str) -> list[int]:
    """``"mon-fri"``, ``"sat,sun"``, ``"fri-mon"`` as weekday numbers (0 = Monday)."""
    found: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = DAYS.index(first.strip()[:3])
            b = DAYS.index(last.strip()[:3]) if last else a
        except ValueError as exc:
            raise ValueError(f"unknown day in {part.strip()!r} (mon..sun)") from exc
        found += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(b + 1)]
    return found
