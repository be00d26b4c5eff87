"""Who sees which ticket: the rule, written once as a plain predicate.

Its SQL form, for lists, is ``ctiserver.tickets.listing.visible_to``; both say:

- supervisors and admins see every ticket;
- staff see their department's tickets (only their branch's when they have a branch) and
  the tickets they are the engineer of;
- agents see the tickets they opened, and the tickets of the customers they serve: a
  customer of a call they took (``calls.agent`` is their extension), a ticket opened on
  such a call, and the customers of the call on their desk now (its screen pop's cards,
  ``TicketViewer.serving``) and the tickets opened on that call (``serving_calls``, e.g. the
  IVR's ticket of a caller it did not know);
- anyone else sees none.

docs/visibility.md gives the rule of every kind of record.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctiserver.vocabulary import SUPERVISOR_ROLES


@dataclass(frozen=True)
class TicketViewer:
    """A user asking for tickets: their role, and what decides which they see."""

    user_id: int
    role: str
    #: staff: their department and branch
    department: str | None = None
    branch_id: int | None = None
    #: agents: their phone's extension (the ``agent`` of the calls they took)
    extension: str | None = None
    #: agents: the customers of the call ringing or going on at their desk now
    serving: frozenset[int] = frozenset()
    #: agents: the calls ringing or going on at their desk now (their Linkedids)
    serving_calls: frozenset[str] = frozenset()
    #: agents: their name in the directory (a queue names its member so when the desk signs
    #: them in: then the ``agent`` of their calls is this name, not the extension)
    agent_name: str | None = None

    @property
    def agent_ids(self) -> tuple[str, ...]:
        """What the ``agent`` of a call this agent took may read: extension or member name."""
        return tuple(dict.fromkeys(i for i in (self.extension, self.agent_name) if i))


@dataclass(frozen=True)
class TicketHolding:
    """What of a ticket decides who sees it."""

    department: str
    branch_id: int | None = None
    engineer_id: int | None = None
    created_by_user_id: int | None = None
    customer_id: int | None = None
    call_linkedid: str | None = None


def staff_sees(viewer: TicketViewer, ticket: TicketHolding) -> bool:
    """A staff member: the ticket's engineer, or of its department (and branch, if they have one)."""
    if ticket.engineer_id is not None and ticket.engineer_id == viewer.user_id:
        return True
    if viewer.department is None or viewer.department != ticket.department:
        return False
    return viewer.branch_id is None or viewer.branch_id == ticket.branch_id


def may_see_ticket(viewer: TicketViewer, ticket: TicketHolding, *, served: bool = False) -> bool:
    """Whether ``viewer`` may see ``ticket``. ``served``: for an agent, whether a call they took
    was the ticket's own or one of its customer's (what the calls table says)."""
    if viewer.role in SUPERVISOR_ROLES:
        return True
    if viewer.role == "staff":
        return staff_sees(viewer, ticket)
    if viewer.role == "agent":
        if ticket.created_by_user_id is not None and ticket.created_by_user_id == viewer.user_id:
            return True
        if ticket.customer_id is not None and ticket.customer_id in viewer.serving:
            return True
        if ticket.call_linkedid is not None and ticket.call_linkedid in viewer.serving_calls:
            return True
        return served and bool(viewer.agent_ids)
    return False
