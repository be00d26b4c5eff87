"""Customers and their history for the agent desktop (docs/agent-desktop.md)."""

from __future__ import annotations

from aiohttp import web

from ctiserver.customers.store import CustomerRepository
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.handling import ApiError, api, optional_str, path_id, read_json
from ctiserver.web.responses import json_ok

CUSTOMERS_KEY = web.AppKey("customers", CustomerRepository)
CUSTOMER_TEXT_FIELDS = ("level", "province", "city", "district", "street", "address_detail")


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


def register(app: web.Application, customers: CustomerRepository) -> None:
    app[CUSTOMERS_KEY] = customers
    app.router.add_get("/api/customers", find_customers)
    app.router.add_post("/api/customers", create_customer)
    app.router.add_get(r"/api/customers/{id:\d{1,9}}", get_customer)
    app.router.add_get(r"/api/customers/{id:\d{1,9}}/history", customer_history)
