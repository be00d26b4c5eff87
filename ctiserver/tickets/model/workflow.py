"""The ticket workflow: which status may follow which, and the event each move writes.

new -> dispatched -> scheduled -> in_progress (<-> waiting_customer / waiting_parts)
-> completed -> return_visit -> closed; a return visit may reopen the ticket, which is
then dispatched again or worked on at once. Re-scheduling keeps ``scheduled`` and
records a ``scheduled`` event; a dispatched ticket may be dispatched again (another
branch) the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from ctiserver.vocabulary import TICKET_STATUSES

#: status -> the statuses it may move to; closed and cancelled are final
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "new": frozenset({"dispatched", "cancelled"}),
    "dispatched": frozenset({"dispatched", "scheduled", "in_progress", "cancelled"}),
    "scheduled": frozenset({"scheduled", "in_progress", "cancelled"}),
    "in_progress": frozenset({"waiting_customer", "waiting_parts", "completed"}),
    "waiting_customer": frozenset({"in_progress"}),
    "waiting_parts": frozenset({"in_progress"}),
    "completed": frozenset({"return_visit", "closed"}),
    "return_visit": frozenset({"closed", "reopened"}),
    "reopened": frozenset({"dispatched", "in_progress", "cancelled"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
#: the SLA's clock stops in these (the time is not counted)
PAUSED_STATUSES = frozenset({"waiting_customer", "waiting_parts"})
#: the resolution clock has stopped (until the ticket is reopened)
DONE_STATUSES = frozenset({"completed", "return_visit", "closed", "cancelled"})
#: a ticket has been responded to once it first moves to one of these
RESPONDED_STATUSES = frozenset({"scheduled", "in_progress"})

_KIND_BY_STATUS: Mapping[str, str] = {
    "dispatched": "dispatched",
    "scheduled": "scheduled",
    "in_progress": "started",
    "waiting_customer": "waiting",
    "waiting_parts": "waiting",
    "completed": "completed",
    "return_visit": "return_visit",
    "closed": "closed",
    "cancelled": "cancelled",
    "reopened": "reopened",
}


class TicketError(Exception):
    """A ticket cannot be changed as asked."""


class TicketNotFound(TicketError, LookupError):
    """No such ticket."""


class TransitionRefused(TicketError, ValueError):
    """The workflow does not allow the move (``TRANSITIONS``), or the change does not apply to
    the ticket's status."""


class TicketConflict(TicketError):
    """The ticket changed meanwhile: the version given is not its version any more."""


def check_move(number: str, current: str, to: str) -> str:
    """The event kind of moving ``current`` -> ``to``; :class:`TransitionRefused` if not allowed."""
    if to not in TICKET_STATUSES:
        raise TransitionRefused(f"unknown ticket status {to!r}")
    if to not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing (it is final)"
        raise TransitionRefused(
            f"ticket {number} cannot go from {current} to {to}; from {current} it may go to {allowed}"
        )
    return event_kind(current, to)


def event_kind(current: str, to: str) -> str:
    """``in_progress`` after a wait is ``resumed``, else ``started``; the others by status."""
    if to == "in_progress" and current in PAUSED_STATUSES:
        return "resumed"
    return _KIND_BY_STATUS[to]
