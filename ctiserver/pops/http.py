"""Customers and their history for the agent desktop (docs/agent-desktop.md): the desk's
customer routes, which answer with cards (``cards.py``); the customers feature keeps the
records themselves (``ctiserver.customers``).

Each card and history is shown as ``ctiserver.customers.card_as_seen`` says (docs/visibility.md):
staff see only the customers of tickets they may see, and everyone only the tickets they may
see and the calls as the calls' rule says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ctiserver.calls import calls_as_seen
from ctiserver.customers import CustomerRepository, card_as_seen, may_see_customer
from ctiserver.pops.card_schemas import (
    CustomerAnswer,
    CustomerChange,
    CustomerHistory,
    CustomerMatches,
    CustomerNew,
    CustomerSearchQuery,
    PhoneQuery,
)
from ctiserver.pops.cards import CustomerCards
from ctiserver.pops.search import CustomerSearch
from ctiserver.tickets import VIEWERS_KEY, viewer_of
from ctiserver.vocabulary import DESK_ROLES, USER_ROLES
from ctiserver.web.auditing import note_target
from ctiserver.web.contract import body_of, query_of, route
from ctiserver.web.handling import ApiError, path_id

CUSTOMERS_KEY = web.AppKey("customers", CustomerRepository)
CARDS_KEY = web.AppKey("customer_cards", CustomerCards)
SEARCH_KEY = web.AppKey("customer_search", CustomerSearch)
NO_SUCH_CUSTOMER = {403: "not one of the customers you may see", 404: "no such customer"}
NOT_SEEN = "not one of the customers you may see"


async def _seen_cards(request: web.Request, cards: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards of the customers the user may see, each with what of it they may see."""
    viewer = await viewer_of(request)
    tickets = request.app[VIEWERS_KEY]
    if viewer.role not in DESK_ROLES:
        seen = await tickets.customers_seen([card["id"] for card in cards], viewer)
        cards = [card for card in cards if may_see_customer(viewer.role, has_visible_ticket=card["id"] in seen)]
    visible = await tickets.visible_ids([t["id"] for card in cards for t in card["open_tickets"]], viewer)
    def calls_seen(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return calls_as_seen(calls, viewer.role, viewer.agent_ids)

    return [card_as_seen(card, visible, calls_seen) for card in cards]


async def find_customers(request: web.Request) -> dict[str, Any]:
    phone = query_of(request, PhoneQuery).phone
    return {"customers": await _seen_cards(request, await request.app[CARDS_KEY].for_phone(phone))}


async def search_customers(request: web.Request) -> dict[str, Any]:
    """By any form of a phone number, a name, a ticket number or a serial; only the customers
    the user may see, each card as they may see it."""
    text = query_of(request, CustomerSearchQuery).q
    ids = await request.app[SEARCH_KEY].find(text, await viewer_of(request))
    cards = await request.app[CARDS_KEY].for_customers(ids)
    return {"customers": await _seen_cards(request, cards)}


async def change_customer(request: web.Request) -> dict[str, Any]:
    """An agent corrects a customer's details (audited with the fields sent)."""
    data = body_of(request, CustomerChange)
    changes = data.model_dump(exclude_unset=True, exclude={"phones"})
    phones = None if data.phones is None else [(p.number, p.label) for p in data.phones]
    try:
        changed = await request.app[CUSTOMERS_KEY].update(path_id(request), phones=phones, **changes)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    if changed is None:
        raise ApiError(404, "no such customer")
    return await get_customer(request)


async def get_customer(request: web.Request) -> dict[str, Any]:
    card = await request.app[CARDS_KEY].for_customer(path_id(request))
    if card is None:
        raise ApiError(404, "no such customer")
    seen = await _seen_cards(request, [card])
    if not seen:
        raise ApiError(403, NOT_SEEN)
    return {"customer": seen[0]}


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
    """The calls and tickets of the customer that the user may see (docs/visibility.md)."""
    history = await request.app[CARDS_KEY].history(path_id(request))
    if history is None:
        raise ApiError(404, "no such customer")
    viewer = await viewer_of(request)
    tickets = request.app[VIEWERS_KEY]
    visible = await tickets.visible_ids([t["id"] for t in history["tickets"]], viewer)
    if viewer.role not in DESK_ROLES and not may_see_customer(viewer.role, has_visible_ticket=bool(visible)):
        raise ApiError(403, NOT_SEEN)
    return {
        "calls": calls_as_seen(history["calls"], viewer.role, viewer.agent_ids),
        "tickets": [t for t in history["tickets"] if t["id"] in visible],
    }


def register(
    app: web.Application, customers: CustomerRepository, cards: CustomerCards, search: CustomerSearch,
) -> None:
    app[CUSTOMERS_KEY] = customers
    app[CARDS_KEY] = cards
    app[SEARCH_KEY] = search
    route(app, "GET", "/api/customers/search", search_customers,
          summary="Find customers by a phone in any form, a name, a ticket number or a serial (those the user may see)",
          roles=USER_ROLES, query=CustomerSearchQuery, answer=CustomerMatches)
    route(app, "PATCH", r"/api/customers/{id:\d{1,9}}", change_customer,
          summary="Change a customer's details (name, level, address, phones)", roles=DESK_ROLES,
          body=CustomerChange, answer=CustomerAnswer, errors={404: "no such customer"}, target="customer")
    route(app, "GET", "/api/customers", find_customers, summary="The customers with a phone (those the user may see)",
          roles=USER_ROLES, query=PhoneQuery, answer=CustomerMatches)
    route(app, "POST", "/api/customers", create_customer, summary="Add a customer with one phone",
          roles=USER_ROLES, body=CustomerNew, answer=CustomerAnswer, status=201, target="customer")
    route(app, "GET", r"/api/customers/{id:\d{1,9}}", get_customer, summary="A customer's card",
          roles=USER_ROLES, answer=CustomerAnswer, errors=NO_SUCH_CUSTOMER)
    route(app, "GET", r"/api/customers/{id:\d{1,9}}/history", customer_history,
          summary="A customer's calls and tickets", roles=USER_ROLES, answer=CustomerHistory,
          errors=NO_SUCH_CUSTOMER)
