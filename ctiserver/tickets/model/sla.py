"""The SLA clock of a ticket, computed from its history: response and resolution targets in
business time (the shared ``ctiserver.calendar``: weekly hours, public holidays and make-up
working days), paused while the ticket waits for the customer or for parts.

Responded = the first move out of new/dispatched to scheduled or in_progress. The
resolution clock runs from creation until completed, except while waiting; a reopened
ticket's clock runs again. The escalation level is how many thresholds (fractions of
the running target, e.g. 0.8 and 1.0) the ticket has reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctiserver.calendar import BusinessCalendar, DayRules
from ctiserver.tickets.model.workflow import DONE_STATUSES, PAUSED_STATUSES, RESPONDED_STATUSES
from ctiserver.vocabulary import TICKET_TYPES, TICKET_URGENCIES


@dataclass(frozen=True)
class SlaTargets:
    """Business seconds to respond and to resolve."""

    response: float
    resolution: float


@dataclass(frozen=True)
class SlaPolicy:
    """(kind, urgency) -> targets, from settings lines ``"KIND URGENCY RESPONSE RESOLUTION"``
    (``*`` for any kind; durations like ``4h``, ``30m`` or hours as a number)."""

    targets: Mapping[tuple[str, str], SlaTargets]

    @classmethod
    def parse(cls, lines: Sequence[str]) -> SlaPolicy:
        given: dict[tuple[str, str], SlaTargets] = {}
        for line in lines:
            parts = line.split()
            if len(parts) != 4:
                raise ValueError(f"SLA {line!r}: expected 'KIND URGENCY RESPONSE RESOLUTION'")
            kind, urgency, response, resolution = parts
            if kind != "*" and kind not in TICKET_TYPES:
                raise ValueError(f"SLA {line!r}: unknown ticket kind {kind!r}")
            if urgency not in TICKET_URGENCIES:
                raise ValueError(f"SLA {line!r}: urgency must be one of {', '.join(TICKET_URGENCIES)}")
            given[(kind, urgency)] = SlaTargets(_duration(response, line), _duration(resolution, line))
        targets = {}
        for kind in TICKET_TYPES:
            for urgency in TICKET_URGENCIES:
                found = given.get((kind, urgency)) or given.get(("*", urgency))
                if found is None:
                    raise ValueError(f"SLA: no target for {kind} {urgency} (add a line, or one for *)")
                targets[(kind, urgency)] = found
        return cls(targets)

    def for_ticket(self, kind: str, urgency: str, vip: bool) -> SlaTargets:
        """VIP customers' tickets get the urgent targets."""
        return self.targets[(kind, "urgent" if vip else urgency)]


def _duration(text: str, line: str) -> float:
    unit = {"h": 3600.0, "m": 60.0}.get(text[-1:].lower())
    number = text[:-1] if unit else text
    try:
        value = float(number) * (unit or 3600.0)
    except ValueError as exc:
        raise ValueError(f"SLA {line!r}: {text!r} is not a duration (e.g. 4h, 30m)") from exc
    if value <= 0:
        raise ValueError(f"SLA {line!r}: a target must be positive")
    return value


@dataclass(frozen=True)
class Move:
    """A change of status in the ticket's history."""

    at: dt.datetime
    status: str


@dataclass(frozen=True)
class SlaClock:
    targets: SlaTargets
    response_due: dt.datetime | None
    #: while paused: when it would fall due if the clock ran again now
    resolution_due: dt.datetime | None
    responded_at: dt.datetime | None
    completed_at: dt.datetime | None
    #: business seconds counted so far
    response_used: float
    resolution_used: float
    paused: bool
    #: wall-clock seconds spent waiting (not counted)
    paused_seconds: float
    #: the fraction of the running target used (0 once completed)
    used: float
    #: thresholds reached by ``used``
    level: int
    breached: bool

    @property
    def due(self) -> dt.datetime | None:
        """The next due time: the response's until responded, then the resolution's; None when
        done or paused."""
        if self.completed_at is not None or self.paused:
            return None
        return self.response_due if self.responded_at is None else self.resolution_due


def sla_clock(
    created_at: dt.datetime,
    moves: Sequence[Move],
    targets: SlaTargets,
    calendar: BusinessCalendar,
    now: dt.datetime,
    thresholds: Sequence[float] = (0.8, 1.0),
) -> SlaClock:
    """``moves``: every change of status after creation (the first status is ``new``), in order."""
    spans: list[tuple[dt.datetime, dt.datetime, str]] = []
    status, since = "new", created_at
    responded_at = completed_at = None
    for move in moves:
        spans.append((since, max(move.at, since), status))
        status, since = move.status, max(move.at, since)
        if responded_at is None and status in RESPONDED_STATUSES:
            responded_at = since
        if status in DONE_STATUSES:
            completed_at = completed_at or since
        elif status not in PAUSED_STATUSES:
            completed_at = None
    spans.append((since, max(now, since), status))
    response_used = calendar.seconds_between(created_at, responded_at or max(now, created_at))
    running = [(a, b) for a, b, s in spans if s not in PAUSED_STATUSES and s not in DONE_STATUSES]
    resolution_used = sum(calendar.seconds_between(a, b) for a, b in running)
    paused = status in PAUSED_STATUSES
    if status in DONE_STATUSES:
        used = 0.0
    elif responded_at is None:
        used = response_used / targets.response
    else:
        used = resolution_used / targets.resolution
    return SlaClock(
        targets=targets,
        response_due=calendar.add(created_at, targets.response),
        resolution_due=_resolution_due(running, targets.resolution, calendar, now),
        responded_at=responded_at,
        completed_at=completed_at,
        response_used=response_used,
        resolution_used=resolution_used,
        paused=paused,
        paused_seconds=sum((b - a).total_seconds() for a, b, s in spans if s in PAUSED_STATUSES),
        used=used,
        level=sum(1 for t in thresholds if used >= t),
        breached=response_used >= targets.response or resolution_used >= targets.resolution,
    )


def _resolution_due(
    running: Sequence[tuple[dt.datetime, dt.datetime]],
    target: float,
    calendar: BusinessCalendar,
    now: dt.datetime,
) -> dt.datetime | None:
    """When the running time reaches the target: within the history, or from now on."""
    left = target
    for start, end in running:
        counted = calendar.seconds_between(start, end)
        if counted >= left:
            return calendar.add(start, left)
        left -= counted
    return calendar.add(now, left)


@dataclass(frozen=True)
class SlaRules:
    """What the SLA clock of every ticket needs: the targets, the calendar, the thresholds."""

    policy: SlaPolicy
    calendar: BusinessCalendar
    thresholds: tuple[float, ...]

    @classmethod
    def parse(
        cls, *, sla: Sequence[str], hours: Sequence[str], holidays: Sequence[str], timezone: str,
        escalate_at: Sequence[float], days: DayRules | None = None,
    ) -> SlaRules:
        """``days``: the business calendar's dates (official holidays and make-up working
        days, the operator's); ``holidays`` are more, for the SLA only."""
        if list(escalate_at) != sorted(escalate_at) or any(t <= 0 for t in escalate_at):
            raise ValueError("escalate_at: fractions must be positive and increasing")
        calendar = BusinessCalendar.parse(list(hours), list(holidays), timezone, days=days)
        return cls(SlaPolicy.parse(sla), calendar, tuple(escalate_at))

    def clock(
        self, kind: str, urgency: str, created_at: dt.datetime, moves: Sequence[Move], now: dt.datetime
    ) -> SlaClock:
        targets = self.policy.for_ticket(kind, urgency, vip=False)
        return sla_clock(created_at, moves, targets, self.calendar, now, self.thresholds)
