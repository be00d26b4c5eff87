"""What the visit store answers: a visit (with its ticket's number and customer's name), an
attempt, and the VISIT shape of the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ctiserver.visits.tables import Visit, VisitAttempt


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class VisitInfo:
    id: int
    ticket_id: int
    ticket_number: str
    customer_id: int | None
    customer_name: str | None
    number: str | None
    language: str | None
    status: str
    attempts: int
    next_at: dt.datetime | None
    score: int | None
    remarks: str | None
    call_linkedid: str | None
    agent: str | None
    complaint_ticket_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "ticket_id": self.ticket_id, "ticket_number": self.ticket_number,
            "customer_id": self.customer_id, "customer_name": self.customer_name, "number": self.number,
            "language": self.language, "status": self.status, "attempts": self.attempts,
            "next_at": _moment(self.next_at), "score": self.score, "remarks": self.remarks,
            "call_linkedid": self.call_linkedid, "agent": self.agent,
            "complaint_ticket_id": self.complaint_ticket_id, "created_at": _moment(self.created_at),
            "finished_at": _moment(self.finished_at),
        }


@dataclass(frozen=True)
class VisitAttemptInfo:
    id: int
    visit_id: int
    mode: str
    channel_id: str
    agent: str | None
    server: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: str | None


def visit_info(row: Visit, ticket_number: str, customer_name: str | None) -> VisitInfo:
    return VisitInfo(
        id=row.id, ticket_id=row.ticket_id, ticket_number=ticket_number, customer_id=row.customer_id,
        customer_name=customer_name, number=row.number, language=row.language, status=row.status,
        attempts=row.attempts, next_at=row.next_at, score=row.score, remarks=row.remarks,
        call_linkedid=row.call_linkedid, agent=row.agent, complaint_ticket_id=row.complaint_ticket_id,
        created_at=row.created_at, finished_at=row.finished_at,
    )


def attempt_info(row: VisitAttempt) -> VisitAttemptInfo:
    return VisitAttemptInfo(
        id=row.id, visit_id=row.visit_id, mode=row.mode, channel_id=row.channel_id, agent=row.agent,
        server=row.server, started_at=row.started_at, ended_at=row.ended_at, outcome=row.outcome,
    )
