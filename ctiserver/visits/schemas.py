"""The shapes of return visits and post-call surveys: a visit, the list, the agent's result
form, the survey report."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ctiserver import vocabulary
from ctiserver.web.schemas import Moment, OneOf, QueryString, RequestBody, RowId, Shape

VisitStatus = Annotated[str, OneOf(vocabulary.VISIT_STATUSES)]
MAX_REMARKS = 2000


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


class VisitList(Shape):
    """Pending first, by when they are due."""

    visits: list[VisitView]


class VisitAnswer(Shape):
    visit: VisitView


class VisitQuery(QueryString):
    status: VisitStatus | None = None
    ticket_id: RowId | None = None
    limit: int = Field(200, ge=1, le=1000)


class VisitResult(RequestBody):
    """``POST /api/visits/{id}/result``: the customer's satisfaction, 1 (worst) to 5."""

    score: int = Field(ge=1, le=5)
    remarks: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REMARKS)] | None = None


class VisitMessage(Shape):
    """Websocket, to the desks: a return visit changed."""

    type: Literal["visit"]
    visit: VisitView


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


class SurveyList(Shape):
    """Newest first, with the count and average of the scores listed."""

    surveys: list[SurveyView]
    count: int
    average: float | None


class SurveyQuery(QueryString):
    agent: Annotated[str, StringConstraints(max_length=64)] | None = None
    start: Moment | None = Field(None, alias="from", description="surveys at or after this time")
    end: Moment | None = Field(None, alias="to", description="surveys before this time")
    limit: int = Field(500, ge=1, le=5000)
