"""The return visit: what the hotline owes a customer whose ticket was completed; pure.

Completing a ticket makes one visit (``pending``). An attempt claims it (``calling``): an
agent's call from the desk, agent first, or the automatic survey call. The attempt's
outcome makes it ``pending`` again later (no answer, busy, failed, answered without a
score: back-off, up to ``max_attempts``, then ``unreached``); an agent who missed the
ring does not count. An answered agent's call stays ``calling`` until the agent records
the score; a score makes it ``done``, and decides the ticket: closed when the score is
at least ``close_score``, reopened below it, with a complaint ticket as well at or
below ``complaint_score``. A visit whose ticket moves on without it is ``cancelled``.

Times are epoch seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class VisitStatus(enum.StrEnum):
    PENDING = "pending"
    CALLING = "calling"
    DONE = "done"
    UNREACHED = "unreached"
    CANCELLED = "cancelled"


class VisitOutcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    #: the agent did not answer their own ring: not the customer's failure
    AGENT_MISSED = "agent_missed"
    #: the automatic call was answered and no score was given
    NO_SCORE = "no_score"


class Mode(enum.StrEnum):
    AGENT = "agent"
    AUTO = "auto"


#: outcomes that count towards ``max_attempts``
COUNTED = frozenset({VisitOutcome.NO_ANSWER, VisitOutcome.BUSY, VisitOutcome.FAILED, VisitOutcome.NO_SCORE})
#: a visit may be called in these
CALLABLE = frozenset({VisitStatus.PENDING, VisitStatus.CALLING})
#: a score may be recorded in these (an unreached customer may call in, or be reached later)
SCORABLE = frozenset({VisitStatus.PENDING, VisitStatus.CALLING, VisitStatus.UNREACHED})
#: still owed: cancelled when the ticket moves on without the visit
OPEN = frozenset({VisitStatus.PENDING, VisitStatus.CALLING, VisitStatus.UNREACHED})

#: Dial's DIALSTATUS -> the attempt's outcome
DIAL_OUTCOMES = {
    "ANSWER": VisitOutcome.ANSWERED,
    "BUSY": VisitOutcome.BUSY,
    "NOANSWER": VisitOutcome.NO_ANSWER,
    # the agent hung up while the customer's phone rang
    "CANCEL": VisitOutcome.AGENT_MISSED,
}
#: Q.850 causes of a customer's channel that hung up unanswered
_BUSY_CAUSES = frozenset({17})


class VisitRefused(ValueError):
    """The visit cannot do what is asked in its status."""


@dataclass(frozen=True)
class VisitPolicy:
    max_attempts: int = 3
    retry_min: float = 1800.0
    retry_max: float = 4 * 3600.0
    close_score: int = 4
    complaint_score: int = 1

    def backoff(self, failed_attempts: int) -> float:
        """Seconds before the next try after ``failed_attempts`` (>= 1) failures."""
        return min(self.retry_min * 2 ** max(failed_attempts - 1, 0), self.retry_max)


@dataclass(frozen=True)
class After:
    """What an attempt's outcome makes of the visit."""

    status: VisitStatus
    attempts: int
    #: when it may be called again (pending), else None
    next_at: float | None


def check_call(status: str) -> None:
    if status not in CALLABLE:
        raise VisitRefused(f"the visit is {status}: it cannot be called")


def after_attempt(outcome: VisitOutcome, attempts: int, now: float, policy: VisitPolicy) -> After:
    """The visit after an attempt ended with ``outcome`` (``attempts``: failed ones before)."""
    if outcome is VisitOutcome.ANSWERED:
        return After(VisitStatus.CALLING, attempts, None)
    if outcome is VisitOutcome.AGENT_MISSED:
        return After(VisitStatus.PENDING, attempts, now)
    failed = attempts + 1
    if failed >= policy.max_attempts:
        return After(VisitStatus.UNREACHED, failed, None)
    return After(VisitStatus.PENDING, failed, now + policy.backoff(failed))


@dataclass(frozen=True)
class Verdict:
    """What a score does to the ticket."""

    #: the ticket's next status: closed or reopened
    ticket_status: str
    #: open a complaint ticket linked to it
    complaint: bool


def check_score(score: int) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise VisitRefused(f"a score is 1 to 5, not {score!r}")
    return score


def verdict(score: int, policy: VisitPolicy) -> Verdict:
    check_score(score)
    closed = score >= policy.close_score
    return Verdict("closed" if closed else "reopened", not closed and score <= policy.complaint_score)


def check_result(status: str, score: int) -> None:
    check_score(score)
    if status not in SCORABLE:
        raise VisitRefused(f"the visit is {status}: its result cannot be recorded")


def hangup_outcome(cause: int | None) -> VisitOutcome:
    """The customer's channel of an automatic call hung up before the survey started."""
    return VisitOutcome.BUSY if cause in _BUSY_CAUSES else VisitOutcome.NO_ANSWER


def dial_outcome(dial_status: str) -> VisitOutcome:
    return DIAL_OUTCOMES.get(dial_status.upper(), VisitOutcome.FAILED)


def recorded_outcome(mode: str, dialled: bool, status: str | None) -> VisitOutcome:
    """An attempt's outcome from Asterisk's record of it, when no server saw it end. An
    agent's call: as a callback's (``callbacks.model.recorded_outcome``): never dialled,
    AGENT_MISSED; dialled, Dial's ``status`` (ANSWER: answered); no end written, FAILED.
    An automatic call: answered (its record says so), NO_SCORE (the survey's score died
    with its server); no record (the customer never answered, or the Originate never
    reached Asterisk), NO_ANSWER; ``dialled`` without a status (too old to have a
    record), FAILED."""
    if mode == Mode.AUTO.value:
        if status == "ANSWER":
            return VisitOutcome.NO_SCORE
        return VisitOutcome.FAILED if dialled else VisitOutcome.NO_ANSWER
    if not dialled:
        return VisitOutcome.AGENT_MISSED
    return VisitOutcome.FAILED if status is None else dial_outcome(status)


def digits_only(number: str) -> str:
    """ASCII digits only reach Originate and Dial (str.isdigit() admits "１" and "²" too)."""
    return "".join(ch for ch in number if ch in "0123456789")
