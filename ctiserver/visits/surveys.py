"""Post-call surveys for reports: each score with its call's agent (the ended call's record),
the tickets opened on the call, and the return visit whose automatic call it was.

The score itself is the IVR's (``call_surveys``, written by the survey node); the rest is
joined by the call's Linkedid when read, so nothing on the call's path waits for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ctiserver.calls import CallRow
from ctiserver.ivr import CallSurvey
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket
from ctiserver.visits.store import VisitRepository
from ctiserver.visits.tables import Visit


class SurveyReport:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, *, agent: str | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None,
        linkedids: Sequence[str] | None = None, limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = (
            select(CallSurvey, CallRow.agent, CallRow.caller_number, CallRow.queue)
            .outerjoin(CallRow, CallRow.linkedid == CallSurvey.call_linkedid)
        )
        if agent:
            query = query.where(CallRow.agent == agent)
        if start is not None:
            query = query.where(CallSurvey.at >= start)
        if end is not None:
            query = query.where(CallSurvey.at < end)
        if linkedids is not None:
            query = query.where(CallSurvey.call_linkedid.in_(list(linkedids)))
        async with self._db.session() as session:
            ordered = query.order_by(CallSurvey.at.desc(), CallSurvey.id.desc()).limit(limit)
            rows = (await session.execute(ordered)).all()
            calls = sorted({row[0].call_linkedid for row in rows})
            tickets: dict[str, list[int]] = {}
            visits: dict[str, int] = {}
            if calls:
                for ticket_id, linkedid in await session.execute(
                    select(Ticket.id, Ticket.call_linkedid).where(Ticket.call_linkedid.in_(calls)).order_by(Ticket.id)
                ):
                    tickets.setdefault(str(linkedid), []).append(int(ticket_id))
                for visit_id, linkedid in await session.execute(
                    select(Visit.id, Visit.call_linkedid).where(Visit.call_linkedid.in_(calls))
                ):
                    visits[str(linkedid)] = int(visit_id)
        return [
            {
                "id": survey.id, "call_linkedid": survey.call_linkedid, "score": survey.score,
                "at": survey.at.isoformat(timespec="milliseconds"), "agent": call_agent,
                "caller_number": number, "queue": queue, "ticket_ids": tickets.get(survey.call_linkedid, []),
                "visit_id": visits.get(survey.call_linkedid),
            }
            for survey, call_agent, number, queue in rows
        ]


def summary(surveys: Sequence[dict[str, Any]]) -> dict[str, Any]:
    scores = [int(s["score"]) for s in surveys]
    return {
        "surveys": list(surveys), "count": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
    }


class TicketFeedback:
    """What customers said of a ticket, for ``GET /api/tickets/{id}``: the post-call surveys of
    the call that opened it, and its return visits."""

    def __init__(self, report: SurveyReport, visits: VisitRepository) -> None:
        self._report = report
        self._visits = visits

    async def of(self, ticket_id: int, call_linkedid: str | None) -> dict[str, Any]:
        surveys = await self._report.search(linkedids=[call_linkedid]) if call_linkedid else []
        visits = await self._visits.search(ticket_id=ticket_id)
        return {"surveys": surveys, "visits": [visit.to_dict() for visit in visits]}

