"""Tickets for the agent desktop: open one (from a pop or by hand), list a customer's or a call's."""

from __future__ import annotations

from aiohttp import web

from ctiserver.customers.store import CustomerRepository
from ctiserver.tickets.store import TicketRepository, ticket_dict
from ctiserver.vocabulary import TICKET_TYPES, USER_ROLES
from ctiserver.web.handling import ApiError, api, optional_int, optional_str, query_int, read_json
from ctiserver.web.keys import USER_KEY
from ctiserver.web.responses import json_ok

TICKETS_KEY = web.AppKey("tickets", TicketRepository)
#: whose customers and products a ticket may name
OWNERS_KEY = web.AppKey("ticket_owners", CustomerRepository)
MAX_SUMMARY = 500
MAX_CALL_ID = 64


async def _ticket_owner(
    request: web.Request, customer_id: int | None, product_id: int | None
) -> int | None:
    """The ticket's customer: as given, or the product's owner when only a product is given."""
    customers = request.app[OWNERS_KEY]
    if customer_id is not None and await customers.get(customer_id) is None:
        raise ApiError(400, "no such customer")
    if product_id is None:
        return customer_id
    owner = await customers.product_owner(product_id)
    if owner is None:
        raise ApiError(400, "no such product")
    if customer_id is not None and owner != customer_id:
        raise ApiError(400, "the product does not belong to the customer")
    return owner


@api(USER_ROLES)
async def create_ticket(request: web.Request) -> web.Response:
    data = await read_json(request)
    kind = data.get("type")
    if kind not in TICKET_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(TICKET_TYPES)}")
    summary = (optional_str(data.get("summary"), "summary") or "").strip()
    if not summary or len(summary) > MAX_SUMMARY:
        raise ApiError(400, f"summary must have 1 to {MAX_SUMMARY} characters")
    call_id = optional_str(data.get("call_id"), "call_id") or None
    if call_id is not None and len(call_id) > MAX_CALL_ID:
        raise ApiError(400, f"call_id must have at most {MAX_CALL_ID} characters")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise ApiError(400, "fields must be an object")
    product_id = optional_int(data.get("product_id"), "product_id")
    customer_id = await _ticket_owner(
        request, optional_int(data.get("customer_id"), "customer_id"), product_id
    )
    ticket = await request.app[TICKETS_KEY].open(
        kind, summary, fields, customer_id=customer_id, product_id=product_id,
        call_linkedid=call_id, source="agent", user_id=request[USER_KEY].id,
    )
    return json_ok({"ticket": ticket_dict(ticket)}, status=201)


@api(USER_ROLES)
async def list_tickets(request: web.Request) -> web.Response:
    tickets = request.app[TICKETS_KEY]
    if "customer_id" in request.query:
        found = await tickets.list_for_customer(query_int(request, "customer_id"))
    elif request.query.get("call_id"):
        found = await tickets.list_for_call(request.query["call_id"])
    else:
        raise ApiError(400, "customer_id or call_id is required")
    return json_ok({"tickets": [ticket_dict(t) for t in found]})


def register(app: web.Application, tickets: TicketRepository, customers: CustomerRepository) -> None:
    app[TICKETS_KEY] = tickets
    app[OWNERS_KEY] = customers
    app.router.add_get("/api/tickets", list_tickets)
    app.router.add_post("/api/tickets", create_ticket)
