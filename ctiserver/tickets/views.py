"""A ticket as ``GET /api/tickets/{id}`` shows it: the TICKET, its department's name, branch,
engineer, appointment, SLA clock (computed now from the history) and history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ctiserver.dispatch import DispatchRepository
from ctiserver.tickets.infos import TicketEventInfo, TicketInfo, ticket_dict
from ctiserver.tickets.model.sla import Move, SlaClock
from ctiserver.tickets.store import TicketRepository
from ctiserver.users import UserRepository


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def sla_dict(clock: SlaClock, ticket: TicketInfo) -> dict[str, Any]:
    return {
        "response_target": clock.targets.response,
        "resolution_target": clock.targets.resolution,
        "response_due": _moment(clock.response_due),
        "resolution_due": _moment(clock.resolution_due),
        "responded_at": _moment(clock.responded_at),
        "completed_at": _moment(clock.completed_at),
        "response_used": clock.response_used,
        "resolution_used": clock.resolution_used,
        "paused": clock.paused,
        "paused_seconds": clock.paused_seconds,
        "breached": clock.breached or ticket.breached_at is not None,
        "breached_at": _moment(ticket.breached_at),
        "escalation_level": ticket.escalation_level,
    }


def moves_of(history: list[TicketEventInfo]) -> list[Move]:
    return [Move(e.at, e.status) for e in history if e.status is not None and e.from_status not in (None, e.status)]


async def ticket_detail(
    ticket: TicketInfo,
    tickets: TicketRepository,
    dispatch: DispatchRepository,
    users: UserRepository,
    now: dt.datetime,
) -> dict[str, Any]:
    history = await tickets.events(ticket.id)
    clock = tickets.sla.clock(ticket.type, ticket.urgency, ticket.created_at, moves_of(history), now)
    branch = None if ticket.branch_id is None else await dispatch.branch(ticket.branch_id)
    engineer = None if ticket.engineer_id is None else await users.get(ticket.engineer_id)
    departments = await dispatch.departments()
    return {
        **ticket_dict(ticket),
        "department_name": departments.get(ticket.department),
        "branch": None if branch is None else branch.to_dict(),
        "engineer": None if engineer is None else {
            "id": engineer.id, "username": engineer.username, "display_name": engineer.display_name,
        },
        "appointment_start": _moment(ticket.appointment_start),
        "appointment_end": _moment(ticket.appointment_end),
        "sla": sla_dict(clock, ticket),
        "history": [event.to_dict() for event in history],
    }
