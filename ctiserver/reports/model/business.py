"""Business figures of the tickets, products and surveys (docs/statistics.md, "Business
figures"): each report is one table (``BUSINESS_COLUMNS``), computed from rows the
queries read; the arithmetic (rates, durations, first-contact resolution) is here."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

BUSINESS_COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("kind", "status", "department", "tickets"),
    "complaint_rates": ("by", "key", "complaints", "installed", "per_thousand"),
    "fault_rates": ("by", "key", "repairs", "share"),
    "complaints_against": ("about", "department", "branch", "complaints"),
    "turnaround": ("department", "branch", "completed", "average_hours", "median_hours", "longest_hours"),
    "sla": ("department", "branch", "tickets", "breached", "breach_rate"),
    "first_contact": ("department", "completed", "first_contact", "rate"),
    "satisfaction": ("by", "key", "surveys", "survey_average", "survey_satisfied", "visits", "visit_average",
                     "visit_satisfied", "scores", "average_score", "satisfied"),
}
BUSINESS_REPORTS = tuple(BUSINESS_COLUMNS)
#: a customer's call within this long after a ticket's completion means it was not resolved
FIRST_CONTACT_WINDOW = dt.timedelta(days=7)
#: a survey score at least this is a satisfied customer
SATISFIED_SCORE = 4
#: the total row's key
ALL = "(all)"


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def per_thousand(part: int, whole: int) -> float | None:
    return round(1000.0 * part / whole, 2) if whole else None


def hours_figures(spans: Sequence[float]) -> tuple[int, float | None, float | None, float | None]:
    """(count, average, median, longest) in hours of durations given in seconds."""
    if not spans:
        return 0, None, None, None
    return (len(spans), round(sum(spans) / len(spans) / 3600, 2), round(statistics.median(spans) / 3600, 2),
            round(max(spans) / 3600, 2))


@dataclass(frozen=True, slots=True)
class Tally:
    """Scores counted: how many, their sum, how many satisfied."""

    count: int
    total: int
    satisfied: int

    @classmethod
    def zero(cls) -> Tally:
        return cls(0, 0, 0)

    def plus(self, other: Tally) -> Tally:
        return Tally(self.count + other.count, self.total + other.total, self.satisfied + other.satisfied)

    def figures(self) -> tuple[int, float | None, float | None]:
        """(count, average score, percent satisfied); zero, None, None when nothing was scored."""
        if not self.count:
            return 0, None, None
        return self.count, round(self.total / self.count, 2), percent(self.satisfied, self.count)


def satisfaction_row(surveys: Tally, visits: Tally) -> tuple[int | float | None, ...]:
    """Survey figures, return-visit figures, then both combined (every score counts once)."""
    return (*surveys.figures(), *visits.figures(), *surveys.plus(visits).figures())
