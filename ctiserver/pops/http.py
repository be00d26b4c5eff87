"""Customers and their history for the agent desktop (docs/agent-desktop.md): the desk's
customer routes, which answer with cards (``cards.py``); the customers feature keeps the
records themselves (``ctiserver.customers``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.customers import CustomerRepository
from ctiserver.pops.card_schemas import (
    CustomerAnswer,
    CustomerHistory,
    CustomerMatches,
    CustomerNew,
    PhoneQuery,
)
from ctiserver.pops.cards import CustomerCards
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, query_of, route
from ctiserver.web.handling import ApiError, path_id

CUSTOMERS_KEY = web.AppKey("customers", CustomerRepository)
CARDS_KEY = web.AppKey("customer_cards", CustomerCards)
NO_SUCH_CUSTOMER = {404: "no such customer"}


async def find_customers(request: web.Request) -> dict[str, Any]:
    phone = query_of(request, PhoneQuery).phone
    return {"customers": await request.app[CARDS_KEY].for_phone(phone)}


async def get_customer(request: web.Request) -> dict[str, Any]:
    card = await request.app[CARDS_KEY].for_customer(path_id(request))
    if card is None:
        raise ApiError(404, "no such customer")
    return {"customer": card}


async def create_customer(request: web.Request) -> dict[str, Any]:
    """A phone another customer already has is accepted: family members share landlines."""
    data = body_of(request, CustomerNew)
    address = data.model_dump(exclude={"name", "phone", "level"})
    try:
        created = await request.app[CUSTOMERS_KEY].create(
            data.name, data.phone, level=data.level or "normal", **address
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    note_target(request, created.id)
    card = await request.app[CARDS_KEY].for_customer(created.id)
    if card is None:
        raise LookupError(f"customer {created.id} is gone right after it was created")
    return {"customer": card}


async def customer_history(request: web.Request) -> dict[str, Any]:
    history = await request.app[CARDS_KEY].history(path_id(request))
    if history is None:
        raise ApiError(404, "no such customer")
    return history


def register(app: web.Application, customers: CustomerRepository, cards: CustomerCards) -> None:
    app[CUSTOMERS_KEY] = customers
    app[CARDS_KEY] = cards
    route(app, "GET", "/api/customers", find_customers, summary="The customers with a phone",
          roles=USER_ROLES, query=PhoneQuery, answer=CustomerMatches)
    route(app, "POST", "/api/customers", create_customer, summary="Add a customer with one phone",
          roles=USER_ROLES, body=CustomerNew, answer=CustomerAnswer, status=201, target="customer")
    route(app, "GET", r"/api/customers/{id:\d{1,9}}", get_customer, summary="A customer's card",
          roles=USER_ROLES, answer=CustomerAnswer, errors=NO_SUCH_CUSTOMER)
    route(app, "GET", r"/api/customers/{id:\d{1,9}}/history", customer_history,
          summary="A customer's calls and tickets", roles=USER_ROLES, answer=CustomerHistory,
          errors=NO_SUCH_CUSTOMER)
