"""Return visits for the desks (the list, click to call, the score form) and the post-call
survey report for supervisors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.agents import AgentRepository
from ctiserver.tickets import VIEWERS_KEY, Author, viewer_of
from ctiserver.visits.dialer import VisitDialer
from ctiserver.visits.model import VisitRefused
from ctiserver.visits.schemas import (
    SurveyList,
    SurveyQuery,
    VisitAnswer,
    VisitList,
    VisitMessage,
    VisitQuery,
    VisitResult,
)
from ctiserver.visits.service import VisitService
from ctiserver.visits.store import VisitNotFound
from ctiserver.visits.surveys import SurveyReport, summary
from ctiserver.visits.visibility import may_see_visit
from ctiserver.vocabulary import DESK_ROLES, SUPERVISOR_ROLES, is_extension
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import add_messages, body_of, query_of, route
from ctiserver.web.handling import ApiError, path_id
from ctiserver.web.keys import USER_KEY

#: the hotline's people: agents call customers back, supervisors look on
ONE = r"/api/visits/{id:\d{1,9}}"


@dataclass(frozen=True)
class VisitsApi:
    service: VisitService
    #: None: calls are not placed (hotline.callback_interface is not set)
    dialer: VisitDialer | None
    agents: AgentRepository
    surveys: SurveyReport


API_KEY = web.AppKey("visits", VisitsApi)


def _author(request: web.Request) -> Author:
    user = request[USER_KEY]
    return Author(user.id, user.username)


NOT_SEEN = "not one of the visits you may see (its ticket is not one you may see)"


async def _seen(request: web.Request) -> int:
    """The visit of the path, if the user may see it (its ticket): 404, 403 otherwise."""
    visit_id = path_id(request)
    note_target(request, visit_id)
    visit = await request.app[API_KEY].service.store.get(visit_id)
    if visit is None:
        raise ApiError(404, "no such visit")
    seen = await request.app[VIEWERS_KEY].visible(visit.ticket_id, await viewer_of(request))
    if not may_see_visit(ticket_visible=seen):
        raise ApiError(403, NOT_SEEN)
    return visit_id


async def list_visits(request: web.Request) -> dict[str, Any]:
    """The visits of the tickets the user may see."""
    query = query_of(request, VisitQuery)
    found = await request.app[API_KEY].service.store.search(
        status=query.status, ticket_id=query.ticket_id, limit=query.limit, viewer=await viewer_of(request)
    )
    return {"visits": [visit.to_dict() for visit in found]}


async def call_visit(request: web.Request) -> dict[str, Any]:
    """The agent's phone rings first; once they answer, the customer is dialled."""
    api = request.app[API_KEY]
    visit_id = await _seen(request)
    if api.dialer is None:
        raise ApiError(503, "calls are not placed: hotline.callback_interface is not set")
    record = await api.agents.for_user(request[USER_KEY].id)
    if record is None or not is_extension(str(record.extension)):
        raise ApiError(409, "you have no phone to call from")
    try:
        visit = await api.dialer.call_by_agent(visit_id, str(record.extension), _author(request))
    except VisitNotFound as exc:
        raise ApiError(404, "no such visit") from exc
    except VisitRefused as exc:
        raise ApiError(409, str(exc)) from exc
    return {"visit": visit.to_dict()}


async def record_result(request: web.Request) -> dict[str, Any]:
    body = body_of(request, VisitResult)
    visit_id = await _seen(request)
    try:
        visit = await request.app[API_KEY].service.record(
            visit_id, body.score, body.remarks or None, by=_author(request)
        )
    except VisitNotFound as exc:
        raise ApiError(404, "no such visit") from exc
    except VisitRefused as exc:
        raise ApiError(409, str(exc)) from exc
    return {"visit": visit.to_dict()}


async def list_surveys(request: web.Request) -> dict[str, Any]:
    query = query_of(request, SurveyQuery)
    found = await request.app[API_KEY].surveys.search(
        agent=query.agent, start=query.start, end=query.end, limit=query.limit
    )
    return summary(found)


def register(
    app: web.Application, service: VisitService, dialer: VisitDialer | None, agents: AgentRepository,
    surveys: SurveyReport,
) -> None:
    app[API_KEY] = VisitsApi(service, dialer, agents, surveys)
    add_messages(app, VisitMessage)
    route(app, "GET", "/api/visits", list_visits, summary="Return visits, pending first by when due",
          roles=DESK_ROLES, query=VisitQuery, answer=VisitList)
    route(app, "POST", ONE + "/call", call_visit, summary="Call the customer of a visit from the agent's phone",
          roles=DESK_ROLES, answer=VisitAnswer, target="visit",
          errors={403: NOT_SEEN, 404: "no such visit", 409: "the visit cannot be called now, or you have no phone",
                  503: "calls are not placed"})
    route(app, "POST", ONE + "/result", record_result,
          summary="Record a visit's score (closes or reopens the ticket)", roles=DESK_ROLES, body=VisitResult,
          answer=VisitAnswer, target="visit",
          errors={403: NOT_SEEN, 404: "no such visit", 409: "the visit or its ticket is not waiting for a score"})
    route(app, "GET", "/api/surveys", list_surveys, summary="Post-call survey scores with their call's agent",
          roles=SUPERVISOR_ROLES, query=SurveyQuery, answer=SurveyList)
