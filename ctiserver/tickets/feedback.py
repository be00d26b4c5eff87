"""What another feature adds to a ticket's detail (``GET /api/tickets/{id}``): the hook.

The return visits feature (``ctiserver.visits``) knows a ticket's post-call surveys and
return visits; tickets must not import it (visits import tickets). So tickets declare here
what the detail shows of them (the shapes) and where a source of them plugs in
(``FEEDBACK_KEY``, set by the visits' plugin); without one a ticket shows none.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from aiohttp import web

from ctiserver import vocabulary
from ctiserver.web.schemas import Moment, OneOf, Shape

VisitStatus = Annotated[str, OneOf(vocabulary.VISIT_STATUSES)]


class VisitView(Shape):
    """VISIT: a completed ticket's return visit."""

    id: int
    ticket_id: int
    ticket_number: str
    customer_id: int | None
    customer_name: str | None
    #: the number called
    number: str | None
    #: the language the customer chose in the IVR (the automatic call's)
    language: str | None
    status: VisitStatus
    #: failed attempts (no answer, busy, failed, no score)
    attempts: int
    #: when it is due (pending)
    next_at: Moment | None
    score: int | None
    remarks: str | None
    #: the Linkedid of the last call placed for it
    call_linkedid: str | None
    #: the agent (extension) who called last
    agent: str | None
    #: the complaint ticket a low score opened
    complaint_ticket_id: int | None
    created_at: Moment
    finished_at: Moment | None


class SurveyView(Shape):
    """A post-call survey: the score the caller gave after the agent hung up, the call's
    agent, and the tickets opened on the call."""

    id: int
    call_linkedid: str
    score: int
    at: Moment
    #: the agent (extension) who took the call (null: not known, or the call is not over)
    agent: str | None
    caller_number: str | None
    queue: str | None
    ticket_ids: list[int]
    #: the return visit whose automatic call it was (null: a hotline call)
    visit_id: int | None


class TicketFeedbackSource(Protocol):
    async def of(self, ticket_id: int, call_linkedid: str | None) -> dict[str, Any]:
        """``{"surveys": [SurveyView], "visits": [VisitView]}`` of the ticket."""
        ...


#: set by the visits feature; without it a ticket shows no feedback
FEEDBACK_KEY = web.AppKey("ticket_feedback", TicketFeedbackSource)
