"""Tickets for the agent desktop: open one (from a pop or by hand), list a customer's or a call's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.customers.store import CustomerRepository
from ctiserver.tickets.schemas import TicketAnswer, TicketList, TicketOpen, TicketQuery
from ctiserver.tickets.infos import ticket_dict
from ctiserver.tickets.store import TicketRepository
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, query_of, route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import USER_KEY

TICKETS_KEY = web.AppKey("tickets", TicketRepository)
#: whose customers and products a ticket may name
OWNERS_KEY = web.AppKey("ticket_owners", CustomerRepository)


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


async def create_ticket(request: web.Request) -> dict[str, Any]:
    """Source ``agent``, created by the logged-in user."""
    data = body_of(request, TicketOpen)
    customer_id = await _ticket_owner(request, data.customer_id, data.product_id)
    ticket = await request.app[TICKETS_KEY].open(
        data.type, data.summary, data.fields, customer_id=customer_id,
        product_id=data.product_id, call_linkedid=data.call_id, source="agent",
        user_id=request[USER_KEY].id,
    )
    note_target(request, ticket.id)
    return {"ticket": ticket_dict(ticket)}


async def list_tickets(request: web.Request) -> dict[str, Any]:
    tickets = request.app[TICKETS_KEY]
    query = query_of(request, TicketQuery)
    if query.customer_id is not None:
        found = await tickets.list_for_customer(query.customer_id)
    else:  # TicketQuery has one or the other
        found = await tickets.list_for_call(query.call_id or "")
    return {"tickets": [ticket_dict(t) for t in found]}


def register(app: web.Application, tickets: TicketRepository, customers: CustomerRepository) -> None:
    app[TICKETS_KEY] = tickets
    app[OWNERS_KEY] = customers
    route(app, "GET", "/api/tickets", list_tickets, summary="A customer's or a call's tickets",
          roles=USER_ROLES, query=TicketQuery, answer=TicketList)
    route(app, "POST", "/api/tickets", create_ticket, summary="Open a ticket",
          roles=USER_ROLES, body=TicketOpen, answer=TicketAnswer, status=201, target="ticket")
