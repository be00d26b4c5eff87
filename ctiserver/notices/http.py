"""Routes of SMS notices: a ticket's notices (whoever may see the ticket), a customer's
opt-out (the desk), an engineer's mobile number (supervisors, admins), and the provider's
inbound push (public, its secret checked)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.notices.inbound import InboundRefused, InboundSms, parse, trusted
from ctiserver.notices.schemas import (
    EngineerPhone,
    EngineerPhoneView,
    InboundAnswer,
    NoticeList,
    OptOutChange,
    OptOutView,
)
from ctiserver.notices.store import NoticeStore
from ctiserver.tickets import VIEWERS_KEY, TicketRepository, viewer_of
from ctiserver.vocabulary import DESK_ROLES, SUPERVISOR_ROLES, USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, route
from ctiserver.web.handling import ApiError, path_id
from ctiserver.web.keys import USER_KEY

#: the largest inbound push read
MAX_PUSH = 256 * 1024
SIGNED_IN = frozenset(USER_ROLES)


@dataclass(frozen=True)
class NoticesApi:
    store: NoticeStore
    inbound: InboundSms
    inbound_secret: str
    tickets: TicketRepository


API_KEY = web.AppKey("notices", NoticesApi)


async def ticket_notices(request: web.Request) -> dict[str, Any]:
    ticket_id = path_id(request)
    note_target(request, ticket_id)
    if await request.app[API_KEY].tickets.get(ticket_id) is None:
        raise ApiError(404, "no such ticket")
    if not await request.app[VIEWERS_KEY].visible(ticket_id, await viewer_of(request)):
        raise ApiError(403, "not one of the tickets you may see")
    return {"notices": [n.to_dict() for n in await request.app[API_KEY].store.of_ticket(ticket_id)]}


async def _customer(request: web.Request) -> int:
    customer_id = path_id(request)
    note_target(request, customer_id)
    if not await request.app[API_KEY].store.customer_exists(customer_id):
        raise ApiError(404, "no such customer")
    return customer_id


async def get_opt_out(request: web.Request) -> dict[str, Any]:
    customer_id = await _customer(request)
    return {"customer_id": customer_id, "opted_out": await request.app[API_KEY].store.opted_out(customer_id)}


async def put_opt_out(request: web.Request) -> dict[str, Any]:
    body = body_of(request, OptOutChange)
    customer_id = await _customer(request)
    store = request.app[API_KEY].store
    await store.set_opt_out(customer_id, body.opted_out, source="desk", user_id=request[USER_KEY].id)
    return {"customer_id": customer_id, "opted_out": await store.opted_out(customer_id)}


async def put_engineer_phone(request: web.Request) -> dict[str, Any]:
    body = body_of(request, EngineerPhone)
    user_id = path_id(request)
    note_target(request, user_id)
    if not await request.app[API_KEY].store.set_engineer_phone(user_id, body.phone):
        raise ApiError(404, "no such user")
    return {"user_id": user_id, "phone": body.phone}


async def inbound(request: web.Request) -> dict[str, Any]:
    api = request.app[API_KEY]
    if not api.inbound_secret:
        raise ApiError(503, "inbound SMS are not taken: sms.inbound_secret is not set")
    if request.content_length is not None and request.content_length > MAX_PUSH:
        raise ApiError(413, "push too large")
    body = await request.content.read(MAX_PUSH + 1)
    if len(body) > MAX_PUSH:
        raise ApiError(413, "push too large")
    if not trusted(
        api.inbound_secret, timestamp=request.headers.get("X-CTI-Timestamp"),
        signature=request.headers.get("X-CTI-Signature"), token=request.query.get("token"), body=body,
        now=time.time(),
    ):
        raise ApiError(401, "inbound SMS push not signed with sms.inbound_secret")
    try:
        messages = parse(body)
    except InboundRefused as exc:
        raise ApiError(400, str(exc)) from exc
    for message in messages:
        await api.inbound.take(message)
    return {"code": 0, "msg": "成功"}


def register(app: web.Application, api: NoticesApi) -> None:
    app[API_KEY] = api
    route(app, "GET", r"/api/tickets/{id:\d{1,9}}/notices", ticket_notices,
          summary="The ticket's SMS notices and their delivery state", roles=SIGNED_IN, answer=NoticeList,
          errors={403: "not one of the tickets you may see", 404: "no such ticket"})
    route(app, "GET", r"/api/customers/{id:\d{1,9}}/sms-opt-out", get_opt_out,
          summary="Whether the customer asked for no SMS", roles=DESK_ROLES, denied="the desk's",
          answer=OptOutView, errors={404: "no such customer"})
    route(app, "PUT", r"/api/customers/{id:\d{1,9}}/sms-opt-out", put_opt_out,
          summary="The customer asks for no SMS notices (or again)", roles=DESK_ROLES, denied="the desk's",
          body=OptOutChange, answer=OptOutView, errors={404: "no such customer"}, target="customer")
    route(app, "PUT", r"/api/sms/engineers/{id:\d{1,9}}", put_engineer_phone,
          summary="The mobile number an engineer's task notices go to", roles=SUPERVISOR_ROLES,
          denied="supervisors and admins only", body=EngineerPhone, answer=EngineerPhoneView,
          errors={404: "no such user"}, target="user")
    route(app, "POST", "/sms/inbound", inbound,
          summary="The SMS provider's push of inbound messages (signed, or ?token=)", public=True,
          answer=InboundAnswer, media_type=None,
          errors={400: "not a list of messages", 401: "not signed with sms.inbound_secret", 413: "too large",
                  503: "sms.inbound_secret is not set"})
