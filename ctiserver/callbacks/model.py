"""The callback task: what a missed caller is owed, and the rules it follows; pure.

A task is created from a miss (a caller who hung up in a queue after waiting long
enough, a callback asked for in the IVR, a call outside hours or that found nobody);
several misses from one number within ``dedup_window`` are one task. A task is
``pending`` until an attempt claims it (``dialing``); the attempt's outcome makes it
``connected``, or ``pending`` again later (no answer, busy, failed: back-off, up to
``max_attempts``, then ``failed``); an agent who rejects or misses the offer does not
count. A pending task is ``cancelled`` when its number calls in again and reaches an
agent, or by a supervisor, and ``expired`` after ``expire_after``.

Times are epoch seconds.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ctiserver.calendar import BusinessCalendar, DayRules, WeeklyHours
from ctiserver.customers import normalize_phone


class Status(enum.StrEnum):
    PENDING = "pending"
    DIALING = "dialing"
    CONNECTED = "connected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: still owed: a new miss from the number joins it
OPEN = frozenset({Status.PENDING, Status.DIALING})


class Source(enum.StrEnum):
    """Why the caller is owed a call."""

    #: hung up in a queue after waiting longer than the queue's threshold
    ABANDONED = "abandoned"
    #: chose a callback in the IVR
    REQUESTED = "requested"
    #: called outside business hours (and the flow offered a callback)
    CLOSED = "closed"
    #: found no agent logged in (and the flow offered a callback)
    NO_AGENT = "no_agent"
    #: pressed the callback key while waiting in a queue: a placeholder keeps their place
    QUEUE = "queue"


class Outcome(enum.StrEnum):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    #: the agent rejected or missed the offer: not the customer's failure
    AGENT_MISSED = "agent_missed"


#: outcomes that count towards ``max_attempts``
COUNTED = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED})


@dataclass(frozen=True)
class Policy:
    dedup_window: float = 3600.0
    expire_after: float = 48 * 3600.0
    max_attempts: int = 3
    retry_min: float = 300.0
    retry_max: float = 3600.0

    def backoff(self, failed_attempts: int) -> float:
        """Seconds before the next try after ``failed_attempts`` (>= 1) failures."""
        return min(self.retry_min * 2 ** max(failed_attempts - 1, 0), self.retry_max)


@dataclass(frozen=True)
class Miss:
    """One missed call, as a source reports it."""

    number: str
    source: Source
    at: float
    queue: str | None = None
    reason: str = ""
    wait_seconds: float | None = None
    customer_id: int | None = None
    linkedid: str | None = None
    #: what the caller chose in the IVR, e.g. ``["language:1", "main_menu:0"]``
    choices: tuple[str, ...] = ()
    vip: bool = False


def queue_position(text: str | None) -> int | None:
    """Asterisk's QUEUEPOSITION (the caller's place when they left), if it is one."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    position = int(value)
    return position if position >= 1 else None


def dial_digits(number: str) -> str:
    """The ASCII digits of a number: all that reaches Originate and Dial (str.isdigit()
    admits "１" and "²" too)."""
    return "".join(ch for ch in number if ch in "0123456789")


def number_key(number: str) -> str:
    """The form misses are matched on: one phone however it is written."""
    return normalize_phone(number) or number.strip()


def abandon_counts(wait_seconds: float | None, threshold: int) -> bool:
    """Whether a caller who hung up after ``wait_seconds`` in a queue is owed a call."""
    return threshold >= 0 and wait_seconds is not None and wait_seconds >= threshold


def joins(open_missed_at: float, miss_at: float, policy: Policy) -> bool:
    """A new miss joins an open task of its number first missed at ``open_missed_at``."""
    return 0 <= miss_at - open_missed_at <= policy.dedup_window


@dataclass(frozen=True)
class AfterAttempt:
    status: Status
    #: failed attempts so far
    attempts: int
    #: when the task is due again (pending), else None
    due_at: float | None


def after_attempt(outcome: Outcome, attempts: int, now: float, policy: Policy) -> AfterAttempt:
    """What an attempt's outcome makes of a task that had ``attempts`` failed attempts."""
    if outcome is Outcome.CONNECTED:
        return AfterAttempt(Status.CONNECTED, attempts, None)
    if outcome not in COUNTED:
        return AfterAttempt(Status.PENDING, attempts, now)
    attempts += 1
    if attempts >= policy.max_attempts:
        return AfterAttempt(Status.FAILED, attempts, None)
    return AfterAttempt(Status.PENDING, attempts, now + policy.backoff(attempts))


#: Dial's DIALSTATUS on the agent's leg -> the attempt's outcome (else FAILED)
DIAL_OUTCOMES = {
    "ANSWER": Outcome.CONNECTED,
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    # the agent hung up while the customer's phone rang: not the customer's failure
    "CANCEL": Outcome.AGENT_MISSED,
}


def dial_outcome(dial_status: str) -> Outcome:
    return DIAL_OUTCOMES.get(dial_status.upper(), Outcome.FAILED)


def recorded_outcome(dialled: bool, dial_status: str | None) -> Outcome:
    """An attempt's outcome from Asterisk's record of it, when no server saw it end:
    never ``dialled`` (no record: the agent did not answer, or the Originate never reached
    Asterisk; or the leg ended before the Dial): AGENT_MISSED, due again at once and not
    counted (the customer was not called); dialled and ended: Dial's ``dial_status``
    (ANSWER, or ``answer`` written as the customer answered: connected, never dialled
    again); dialled with no end written and not answered (Asterisk stopped mid-call while
    the customer's phone rang, or a record older than Asterisk keeps): FAILED, counted and
    retried after the back-off."""
    if not dialled:
        return Outcome.AGENT_MISSED
    if dial_status is None:
        return Outcome.FAILED
    return dial_outcome(dial_status)


def outcome_of(hangup_cause: int | None, answered: bool) -> Outcome:
    """The customer leg's outcome from its Q.850 hangup cause."""
    if answered:
        return Outcome.CONNECTED
    if hangup_cause == 17:
        return Outcome.BUSY
    if hangup_cause in (None, 16, 18, 19, 21, 31):
        return Outcome.NO_ANSWER
    return Outcome.FAILED


def priority_key(vip: bool, missed_at: float, task_id: int) -> tuple[int, float, int]:
    """VIP first, then the oldest miss first."""
    return (0 if vip else 1, missed_at, task_id)


def calling_window(hours: str, zone: str, days: DayRules | None = None) -> BusinessCalendar:
    """When a queue's customers may be called: its business hours (``"08:00-20:00"`` every
    day, ``"mon-fri 08:00-20:00; sat 09:00-12:00"``; a span that ends before it starts runs
    past midnight) on the business calendar's ``days`` (no calls on a holiday, calls on a
    make-up working day), in its zone; ``""`` is any hour of any day. ValueError naming what
    is wrong."""
    if not hours.strip():
        return BusinessCalendar(ZoneInfo(zone), WeeklyHours.always())
    try:
        return BusinessCalendar.parse(hours, (), zone, days=days, overnight=True)
    except ValueError as exc:
        raise ValueError(f"calling window: {exc}") from exc


class CallingWindows:
    """Each queue's calling window (``calling_window``), and the window it is in now (kept
    until it closes, so that a tick reads no calendar)."""

    def __init__(self, calendars: dict[str, BusinessCalendar]) -> None:
        self._calendars = calendars
        self._open: dict[str, tuple[dt.datetime, dt.datetime]] = {}

    def open(self, queue: str, moment: dt.datetime) -> bool:
        """Whether ``moment`` is in the queue's calling window (a queue unknown: any time)."""
        calendar = self._calendars.get(queue)
        if calendar is None:
            return True
        window = self._open.get(queue)
        if window is None or not window[0] <= moment < window[1]:
            window = calendar.window(moment)
            if window is None or window[0] > moment:
                self._open.pop(queue, None)
                return False
            self._open[queue] = window
        return True


def may_see_callback(role: str, *, offered_to_them: bool) -> bool:
    """Who sees a callback task (the missed caller's number, name, wait): supervisors and admins
    every one (``/api/callbacks``, the live ``callback`` push); an agent only the one being
    offered to their phone now (the ``callback_offer`` message, sent to that agent's user only);
    staff none."""
    if role in ("supervisor", "admin"):
        return True
    return role == "agent" and offered_to_them
