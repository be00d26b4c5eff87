"""What the ticket store answers: a ticket, an event of its history, and the TICKET shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ctiserver.tickets.tables import Ticket, TicketEvent


@dataclass(frozen=True)
class TicketInfo:
    id: int
    number: str
    type: str
    status: str
    version: int
    department: str
    branch_id: int | None
    engineer_id: int | None
    urgency: str
    summary: str
    fields: dict[str, Any]
    customer_id: int | None
    product_id: int | None
    call_linkedid: str | None
    source: str
    created_by_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    appointment_start: dt.datetime | None
    appointment_end: dt.datetime | None
    responded_at: dt.datetime | None
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None
    due_at: dt.datetime | None
    escalation_level: int
    breached_at: dt.datetime | None


@dataclass(frozen=True)
class TicketEventInfo:
    id: int
    ticket_id: int
    at: dt.datetime
    kind: str
    #: the ticket's status before and after the event
    from_status: str | None
    status: str | None
    note: str | None
    #: who (None: the system), and as text
    user_id: int | None
    actor: str | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "ticket_id": self.ticket_id, "kind": self.kind, "from": self.from_status,
            "to": self.status, "user_id": self.user_id, "who": self.actor, "note": self.note,
            "at": _moment(self.at), "payload": self.payload,
        }


def ticket_info(row: Ticket) -> TicketInfo:
    return TicketInfo(
        id=row.id, number=row.number, type=row.type, status=row.status, version=row.version,
        department=row.department, branch_id=row.branch_id, engineer_id=row.engineer_id,
        urgency=row.urgency, summary=row.summary, fields=dict(row.fields or {}),
        customer_id=row.customer_id, product_id=row.product_id,
        call_linkedid=row.call_linkedid, source=row.source,
        created_by_user_id=row.created_by_user_id, created_at=row.created_at,
        updated_at=row.updated_at, appointment_start=row.appointment_start,
        appointment_end=row.appointment_end, responded_at=row.responded_at,
        completed_at=row.completed_at, closed_at=row.closed_at, due_at=row.due_at,
        escalation_level=row.escalation_level, breached_at=row.breached_at,
    )


def event_info(row: TicketEvent) -> TicketEventInfo:
    return TicketEventInfo(
        row.id, row.ticket_id, row.at, row.kind, row.from_status, row.status, row.note,
        row.user_id, row.actor, dict(row.payload or {}),
    )


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def ticket_dict(ticket: Any) -> dict[str, Any]:
    """The TICKET of docs/agent-desktop.md, from a TicketInfo or a ``tickets`` row (ORM or Core)."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "type": ticket.type,
        "status": ticket.status,
        "version": ticket.version,
        "department": ticket.department,
        "branch_id": ticket.branch_id,
        "engineer_id": ticket.engineer_id,
        "urgency": ticket.urgency,
        "summary": ticket.summary,
        "fields": dict(ticket.fields or {}),
        "customer_id": ticket.customer_id,
        "product_id": ticket.product_id,
        "call_linkedid": ticket.call_linkedid,
        "source": ticket.source,
        "created_at": _moment(ticket.created_at),
        "due_at": _moment(ticket.due_at),
        "escalation_level": ticket.escalation_level,
    }
