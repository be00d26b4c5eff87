"""Customers, their history and tickets, for the agent desktop (docs/agent-desktop.md).

Also home of the small request helpers the other desktop APIs share: role checks,
JSON bodies of bounded size, and :class:`ApiError` for answering with an error.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.tickets.store import ticket_dict
from ctiserver.vocabulary import TICKET_TYPES, USER_ROLES
from ctiserver.web import handling
from ctiserver.web.handling import ApiError, api
from ctiserver.web.keys import CUSTOMERS_KEY, TICKETS_KEY, USER_KEY
from ctiserver.web.responses import json_ok

MAX_BODY = 64 * 1024
MAX_SUMMARY = 500
MAX_CALL_ID = 64
CUSTOMER_TEXT_FIELDS = ("level", "province", "city", "district", "street", "address_detail")



async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, at most MAX_BODY bytes."""
    return await handling.read_json(request, limit=MAX_BODY, optional=optional)


def optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer")
    return value


def optional_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, f"{name} must be a string")


def query_int(request: web.Request, name: str) -> int:
    try:
        return int(request.query[name])
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer") from exc


def path_id(request: web.Request) -> int:
    """The ``{id}`` of the route, which only matches digits."""
    return int(request.match_info["id"])


@api(USER_ROLES)
async def find_customers(request: web.Request) -> web.Response:
    phone = request.query.get("phone", "").strip()
    if not phone:
        raise ApiError(400, "phone is required")
    return json_ok({"customers": await request.app[CUSTOMERS_KEY].cards_for_phone(phone)})


@api(USER_ROLES)
async def get_customer(request: web.Request) -> web.Response:
    card = await request.app[CUSTOMERS_KEY].card(path_id(request))
    if card is None:
        raise ApiError(404, "no such customer")
    return json_ok({"customer": card})


@api(USER_ROLES)
async def create_customer(request: web.Request) -> web.Response:
    data = await read_json(request)
    name, phone = data.get("name"), data.get("phone")
    if not isinstance(name, str) or not isinstance(phone, str):
        raise ApiError(400, "name and phone (strings) are required")
    values = {field: optional_str(data.get(field), field) for field in CUSTOMER_TEXT_FIELDS}
    level = values.pop("level") or "normal"
    try:
        card = await request.app[CUSTOMERS_KEY].create(name, phone, level=level, **values)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    return json_ok({"customer": card}, status=201)


@api(USER_ROLES)
async def customer_history(request: web.Request) -> web.Response:
    history = await request.app[CUSTOMERS_KEY].history(path_id(request))
    if history is None:
        raise ApiError(404, "no such customer")
    return json_ok(history)


async def _ticket_owner(
    request: web.Request, customer_id: int | None, product_id: int | None
) -> int | None:
    """The ticket's customer: as given, or the product's owner when only a product is given."""
    customers = request.app[CUSTOMERS_KEY]
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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/customers", find_customers)
    app.router.add_post("/api/customers", create_customer)
    app.router.add_get(r"/api/customers/{id:\d{1,9}}", get_customer)
    app.router.add_get(r"/api/customers/{id:\d{1,9}}/history", customer_history)
    app.router.add_get("/api/tickets", list_tickets)
    app.router.add_post("/api/tickets", create_ticket)

