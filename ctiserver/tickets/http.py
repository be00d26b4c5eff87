"""Tickets: open one (from a pop or by hand), list those the user may see, one ticket with its
SLA and history, and its workflow: status, dispatch, schedule, fields, notes.

Who sees which ticket is ``ctiserver.tickets.listing``; a ticket the user may not see is
403 on every route of it. Every change is recorded in the audit log by the route
contract, besides the ticket's own history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.customers import CustomerRepository
from ctiserver.dispatch import DispatchRepository
from ctiserver.storage.base import from_epoch
from ctiserver.tickets.changes import Author
from ctiserver.tickets.feedback import FEEDBACK_KEY
from ctiserver.tickets.infos import TicketInfo, ticket_dict
from ctiserver.tickets.listing import TicketFilter, TicketViewer
from ctiserver.tickets.model.kinds import FieldsInvalid
from ctiserver.tickets.model.workflow import (
    MoveForbidden,
    ReferenceRefused,
    TicketConflict,
    TicketNotFound,
    TransitionRefused,
    check_role,
    move_to,
)
from ctiserver.tickets.schemas import (
    TicketAnswer,
    TicketDetailAnswer,
    TicketDispatch,
    TicketFieldsChange,
    TicketList,
    TicketMove,
    TicketNote,
    TicketOpen,
    TicketQuery,
    TicketSchedule,
)
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.viewers import VIEWERS_KEY, viewer_of
from ctiserver.tickets.views import ticket_detail
from ctiserver.users import UserRepository
from ctiserver.vocabulary import SUPERVISOR_ROLES, USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, query_of, route
from ctiserver.web.handling import ApiError, path_id
from ctiserver.web.keys import CLOCK_KEY, USER_KEY

#: who may dispatch by hand: the supervisors, and staff (of the ticket's department)
DISPATCHERS = frozenset({*SUPERVISOR_ROLES, "staff"})
ONE = r"/api/tickets/{id:\d{1,9}}"
NOT_SEEN = {403: "not one of the tickets you may see", 404: "no such ticket"}
REFUSED = {
    403: "not one of the tickets you may see, or your role may not make this move (code ticket_move_forbidden)",
    404: "no such ticket",
    409: "the workflow does not allow it, or the ticket changed meanwhile (stale version)",
    422: "an id it names is unknown, or the engineer is not staff of the ticket's department and branch",
}
#: the fields only a schedule sets (the ``schedule`` move), whichever route changes them
WINDOW_FIELDS = frozenset({"appointment_start", "appointment_end", "engineer_id"})


@dataclass(frozen=True)
class TicketsApi:
    tickets: TicketRepository
    customers: CustomerRepository
    dispatch: DispatchRepository
    users: UserRepository


API_KEY = web.AppKey("tickets_api", TicketsApi)


async def _viewer(request: web.Request) -> TicketViewer:
    return await viewer_of(request)


def _may(request: web.Request, move: str) -> None:
    """403 with the code ``ticket_move_forbidden`` unless the user's role may make ``move``."""
    try:
        check_role(request[USER_KEY].role, move)
    except MoveForbidden as exc:
        raise ApiError(403, str(exc), code=exc.code) from exc


def _author(request: web.Request) -> Author:
    user = request[USER_KEY]
    return Author(user.id, user.username)


async def _seen(request: web.Request) -> TicketInfo:
    """The ticket of the path, if the user may see it: 404, 403 otherwise."""
    tickets = request.app[API_KEY].tickets
    ticket_id = path_id(request)
    note_target(request, ticket_id)
    ticket = await tickets.get(ticket_id)
    if ticket is None:
        raise ApiError(404, "no such ticket")
    if not await tickets.visible(ticket_id, await _viewer(request)):
        raise ApiError(403, "not one of the tickets you may see")
    return ticket


async def _changed(change: Awaitable[TicketInfo]) -> dict[str, Any]:
    try:
        ticket = await change
    except TicketNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    except ReferenceRefused as exc:
        raise ApiError(422, str(exc)) from exc
    except (TransitionRefused, TicketConflict) as exc:
        raise ApiError(409, str(exc)) from exc
    except FieldsInvalid as exc:
        raise ApiError(400, str(exc)) from exc
    return {"ticket": ticket_dict(ticket)}


async def _ticket_owner(api: TicketsApi, customer_id: int | None, product_id: int | None) -> int | None:
    """The ticket's customer: as given, or the product's owner when only a product is given."""
    if customer_id is not None and await api.customers.get(customer_id) is None:
        raise ApiError(422, "no such customer")
    if product_id is None:
        return customer_id
    owner = await api.customers.product_owner(product_id)
    if owner is None:
        raise ApiError(422, "no such product")
    if customer_id is not None and owner != customer_id:
        raise ApiError(400, "the product does not belong to the customer")
    return owner


async def create_ticket(request: web.Request) -> dict[str, Any]:
    """Source ``agent``, created by the logged-in user; dispatched by the rules at once."""
    api = request.app[API_KEY]
    data = body_of(request, TicketOpen)
    _may(request, "open")
    customer_id = await _ticket_owner(api, data.customer_id, data.product_id)
    ticket = await api.tickets.open(
        data.type, data.summary, data.fields, customer_id=customer_id,
        product_id=data.product_id, call_linkedid=data.call_id, source="agent",
        user_id=request[USER_KEY].id, actor=request[USER_KEY].username, urgency=data.urgency,
    )
    note_target(request, ticket.id)
    return {"ticket": ticket_dict(ticket)}


async def list_tickets(request: web.Request) -> dict[str, Any]:
    query = query_of(request, TicketQuery)
    where = TicketFilter(
        status=query.status, department=query.department, branch_id=query.branch_id, kind=query.kind,
        customer_id=query.customer_id, call_id=query.call_id, engineer_id=query.engineer_id, limit=query.limit,
    )
    found = await request.app[API_KEY].tickets.search(where, await _viewer(request))
    return {"tickets": [ticket_dict(t) for t in found]}


async def get_ticket(request: web.Request) -> dict[str, Any]:
    api = request.app[API_KEY]
    ticket = await _seen(request)
    now = from_epoch(request.app[CLOCK_KEY]())
    detail = await ticket_detail(ticket, api.tickets, api.dispatch, api.users, now)
    parties = await api.tickets.parties(ticket, await viewer_of(request))
    feedback = request.app.get(FEEDBACK_KEY)
    said = await feedback.of(ticket.id, ticket.call_linkedid) if feedback is not None else {"surveys": [], "visits": []}
    return {"ticket": {**detail, **parties, **said}}


async def move_ticket(request: web.Request) -> dict[str, Any]:
    body = body_of(request, TicketMove)
    ticket = await _seen(request)
    try:
        move = move_to(body.status)
    except TransitionRefused as exc:
        raise ApiError(409, str(exc)) from exc
    _may(request, move)
    return await _changed(request.app[API_KEY].tickets.move(
        ticket.id, body.status, note=body.note or None, version=body.version, by=_author(request),
    ))


async def dispatch_ticket(request: web.Request) -> dict[str, Any]:
    body = body_of(request, TicketDispatch)
    ticket = await _seen(request)
    _may(request, "dispatch")
    return await _changed(request.app[API_KEY].tickets.dispatch(
        ticket.id, body.department, body.branch_id, note=body.note or None, version=body.version,
        by=_author(request),
    ))


async def schedule_ticket(request: web.Request) -> dict[str, Any]:
    body = body_of(request, TicketSchedule)
    ticket = await _seen(request)
    _may(request, "schedule")
    return await _changed(request.app[API_KEY].tickets.schedule(
        ticket.id, body.start, body.end, body.engineer_id, note=body.note or None, version=body.version,
        by=_author(request),
    ))


async def change_fields(request: web.Request) -> dict[str, Any]:
    body = body_of(request, TicketFieldsChange)
    ticket = await _seen(request)
    _may(request, "schedule" if WINDOW_FIELDS & set(body.fields) else "fields")
    return await _changed(request.app[API_KEY].tickets.update_fields(
        ticket.id, body.fields, version=body.version, by=_author(request), note=body.note or None,
    ))


async def add_note(request: web.Request) -> dict[str, Any]:
    body = body_of(request, TicketNote)
    ticket = await _seen(request)
    _may(request, "note")
    return await _changed(request.app[API_KEY].tickets.add_note(ticket.id, body.note, by=_author(request)))


Handler = Callable[[web.Request], Awaitable[Any]]


def register(
    app: web.Application, tickets: TicketRepository, customers: CustomerRepository,
    dispatch: DispatchRepository, users: UserRepository,
) -> None:
    app[API_KEY] = TicketsApi(tickets, customers, dispatch, users)
    app[VIEWERS_KEY] = tickets
    route(app, "GET", "/api/tickets", list_tickets, summary="The tickets the user may see, most urgent first",
          roles=USER_ROLES, query=TicketQuery, answer=TicketList)
    route(app, "POST", "/api/tickets", create_ticket, summary="Open a ticket",
          roles=USER_ROLES, body=TicketOpen, answer=TicketAnswer, status=201, target="ticket",
          errors={422: "no such customer or product"})
    route(app, "GET", ONE, get_ticket, summary="A ticket with its SLA and history",
          roles=USER_ROLES, answer=TicketDetailAnswer, errors=NOT_SEEN)
    changes: list[tuple[str, str, Handler, str, Any, frozenset[str] | tuple[str, ...]]] = [
        ("PATCH", ONE, change_fields, "Change a ticket's fields", TicketFieldsChange, USER_ROLES),
        ("POST", ONE + "/status", move_ticket, "Move a ticket along the workflow", TicketMove, USER_ROLES),
        ("POST", ONE + "/dispatch", dispatch_ticket, "Dispatch a ticket to a department and branch",
         TicketDispatch, DISPATCHERS),
        ("POST", ONE + "/schedule", schedule_ticket, "Schedule (or re-schedule) a visit", TicketSchedule,
         USER_ROLES),
        ("POST", ONE + "/notes", add_note, "Add a note to a ticket's history", TicketNote, USER_ROLES),
    ]
    for method, path, handler, summary, body, roles in changes:
        route(app, method, path, handler, summary=summary, roles=roles, body=body, answer=TicketAnswer,
              target="ticket", errors=REFUSED)
