"""The ticket workflow: which status may follow which, and the event each move writes.

new -> dispatched -> scheduled -> in_progress (<-> waiting_customer / waiting_parts)
-> completed -> return_visit -> closed; a return visit may reopen the ticket, which is
then dispatched again or worked on at once. Re-scheduling keeps ``scheduled`` and
records a ``scheduled`` event; a dispatched ticket may be dispatched again (another
branch) the same way.

Who may make which move is ``ROLE_MOVES``: agents open tickets, add notes, change the
kind's fields and ask for a return visit; staff (of the ticket's department and branch,
which is who sees it) dispatch, schedule, start, wait and complete; supervisors and
admins everything, cancelling, closing and reopening included.
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


#: the move that takes a ticket to each status
MOVE_TO: Mapping[str, str] = {
    "dispatched": "dispatch",
    "scheduled": "schedule",
    "in_progress": "start",
    "waiting_customer": "wait",
    "waiting_parts": "wait",
    "completed": "complete",
    "return_visit": "request_visit",
    "closed": "close",
    "cancelled": "cancel",
    "reopened": "reopen",
}
#: every move of the workflow: opening a ticket, a note, changing the kind's fields, and
#: each move of status (``MOVE_TO``)
MOVES = frozenset({"open", "note", "fields", *MOVE_TO.values()})
#: role -> the moves it may make (on the tickets it may see)
ROLE_MOVES: Mapping[str, frozenset[str]] = {
    "agent": frozenset({"open", "note", "fields", "request_visit"}),
    "staff": frozenset({"open", "note", "fields", "dispatch", "schedule", "start", "wait", "complete"}),
    "supervisor": MOVES,
    "admin": MOVES,
}
#: the stable code of a refusal by role (the 403's ``code``)
MOVE_FORBIDDEN = "ticket_move_forbidden"


class TicketError(Exception):
    """A ticket cannot be changed as asked."""


class TicketNotFound(TicketError, LookupError):
    """No such ticket."""


class TransitionRefused(TicketError, ValueError):
    """The workflow does not allow the move (``TRANSITIONS``), or the change does not apply to
    the ticket's status."""


class MoveForbidden(TicketError, PermissionError):
    """The user's role may not make that move (``ROLE_MOVES``)."""

    code = MOVE_FORBIDDEN

    def __init__(self, role: str, move: str) -> None:
        allowed = ", ".join(sorted(ROLE_MOVES.get(role, ()))) or "none"
        super().__init__(f"a user with the role {role} may not {move.replace('_', ' ')} a ticket; "
                         f"they may: {allowed}")
        self.role = role
        self.move = move


class ReferenceRefused(TicketError, ValueError):
    """An id the change names is unknown (engineer, customer, product, branch, department), or
    not acceptable there (an engineer who is not staff of the ticket's department and branch)."""


def engineer_fits(
    role: str, department: str | None, branch_id: int | None, ticket_department: str,
    ticket_branch_id: int | None,
) -> bool:
    """Whether a user may be a ticket's engineer: staff of its department, of its branch or of
    none (the department's, who serve every branch); any of the department's for a ticket
    without a branch (the engineers the work view offers)."""
    if role != "staff" or department != ticket_department:
        return False
    return ticket_branch_id is None or branch_id is None or branch_id == ticket_branch_id


class TicketConflict(TicketError):
    """The ticket changed meanwhile: the version given is not its version any more."""


def move_to(status: str) -> str:
    """The move that takes a ticket to ``status``: :class:`TransitionRefused` if none does."""
    move = MOVE_TO.get(status)
    if move is None:
        raise TransitionRefused(f"no move takes a ticket to {status!r}")
    return move


def may_move(role: str, move: str) -> bool:
    return move in ROLE_MOVES.get(role, frozenset())


def check_role(role: str, move: str) -> None:
    """:class:`MoveForbidden` unless ``role`` may make ``move``."""
    if move not in MOVES:
        raise ValueError(f"unknown move {move!r}")
    if not may_move(role, move):
        raise MoveForbidden(role, move)


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
