"""The shapes of return visits and post-call surveys: a visit, the list, the agent's result
form, the survey report. A visit (``VisitView``) and a survey (``SurveyView``) are shown in
a ticket's detail too, so their shapes are declared with the ticket's hook for them
(``ctiserver.tickets.feedback``) and used here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ctiserver.tickets import SurveyView, VisitStatus, VisitView
from ctiserver.web.schemas import Moment, QueryString, RequestBody, RowId, Shape

MAX_REMARKS = 2000


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
