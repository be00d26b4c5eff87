"""One business calendar for the IVR's ``hours`` nodes, the tickets' SLA clock and the
callbacks' calling windows (a shared kernel: it imports no feature).

``WeeklyHours`` (each use's own opening spans) over ``DayRules`` (the official holidays and
make-up working days, from ``chinese-calendar``, plus the operator's ``[calendar]`` dates)
in a time zone make a ``BusinessCalendar``: is an instant open, when it next opens, the
open seconds between two instants and the instant some open seconds later (the SLA), the
window a dialler may dial in.
"""

from ctiserver.calendar.days import OFFICIAL_SOURCES, DayKind, DayRules, uncovered_note
from ctiserver.calendar.model import BusinessCalendar, Instant, utc
from ctiserver.calendar.week import DAYS, WeeklyHours, day_text, minutes

__all__ = [
    "DAYS",
    "OFFICIAL_SOURCES",
    "BusinessCalendar",
    "DayKind",
    "DayRules",
    "Instant",
    "WeeklyHours",
    "day_text",
    "minutes",
    "uncovered_note",
    "utc",
]
