"""Who sees which tickets in SQL, and the filters and order of ``GET /api/tickets``.

``visible_to`` is the SQL form of the one rule, ``ctiserver.tickets.model.visibility``
(``may_see_ticket``): agents see the tickets they created and those of customers they
served (calls they took, by their extension, or the call on their desk now) or opened on
those calls; staff their department's (only their branch's when they have one) and those
they are the engineer of; supervisors and admins all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, false, or_, select

from ctiserver.calls import CallRow
from ctiserver.tickets.model.visibility import TicketViewer
from ctiserver.tickets.tables import Ticket
from ctiserver.vocabulary import FINAL_TICKET_STATUSES, SUPERVISOR_ROLES

#: finished with, or waiting for the customer's word: below the tickets still to be worked on
_DONE = (*FINAL_TICKET_STATUSES, "completed", "return_visit")


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    department: str | None = None
    branch_id: int | None = None
    kind: str | None = None
    customer_id: int | None = None
    call_id: str | None = None
    engineer_id: int | None = None
    limit: int = 200

    def clauses(self) -> list[ColumnElement[bool]]:
        pairs: list[tuple[Any, Any]] = [
            (Ticket.status, self.status), (Ticket.department, self.department),
            (Ticket.branch_id, self.branch_id), (Ticket.type, self.kind),
            (Ticket.customer_id, self.customer_id), (Ticket.call_linkedid, self.call_id),
            (Ticket.engineer_id, self.engineer_id),
        ]
        return [column == value for column, value in pairs if value is not None]


__all__ = ["TicketFilter", "TicketViewer", "order_of", "visible_to"]


def visible_to(viewer: TicketViewer) -> ColumnElement[bool]:
    """The tickets ``viewer`` may see, as a WHERE clause on ``tickets``."""
    if viewer.role in SUPERVISOR_ROLES:
        return Ticket.id.is_not(None)
    if viewer.role == "staff":
        if viewer.department is None:
            return Ticket.engineer_id == viewer.user_id
        mine = Ticket.department == viewer.department
        if viewer.branch_id is not None:
            mine = mine & (Ticket.branch_id == viewer.branch_id)
        return or_(mine, Ticket.engineer_id == viewer.user_id)
    if viewer.role == "agent":
        seen = [Ticket.created_by_user_id == viewer.user_id]
        if viewer.serving:
            seen.append(Ticket.customer_id.in_(sorted(viewer.serving)))
        if viewer.serving_calls:
            seen.append(Ticket.call_linkedid.in_(sorted(viewer.serving_calls)))
        if viewer.agent_ids:
            taken = select(CallRow.linkedid).where(CallRow.agent.in_(viewer.agent_ids))
            served = select(CallRow.customer_id).where(
                CallRow.agent.in_(viewer.agent_ids), CallRow.customer_id.is_not(None)
            )
            seen += [Ticket.call_linkedid.in_(taken), Ticket.customer_id.in_(served)]
        return or_(*seen)
    return false()


def order_of() -> list[Any]:
    """Unfinished before done; escalated, then urgent, then the nearest due first; newest last."""
    return [
        case((Ticket.status.in_(_DONE), 1), else_=0),
        Ticket.escalation_level.desc(),
        case((Ticket.urgency == "urgent", 0), else_=1),
        case((Ticket.due_at.is_(None), 1), else_=0),
        Ticket.due_at,
        Ticket.id.desc(),
    ]
