"""One API contract: the OpenAPI document is valid 3.1 and lists every route of the real
router; the pages' fake server serves only routes of the contract and answers the shapes
the real server declares (its answers, errors included, and its websocket pushes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import StringConstraints

from ctiserver.web.contract import CHECK_ANSWERS_KEY, body_of, route
from ctiserver.web.openapi import build_document, openapi_path
from ctiserver.web.schemas import OneOf, RequestBody, Shape
from tests.api_contract import ContractCheck, full_app
from tests.ui_fake_server import (
    PASSWORD,
    FakeDesk,
    live_call,
    sample_pop,
    sample_wallboard,
)

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def router_routes(app: web.Application, prefix: str = "") -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route of the router (HEAD and static files aside)."""
    found = set()
    for resource_route in app.router.routes():
        info = resource_route.resource.get_info() if resource_route.resource else {}
        path = info.get("formatter") or info.get("path")
        if path is None or resource_route.method not in METHODS or not path.startswith(prefix):
            continue
        found.add((resource_route.method, path))
    return found


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(full_app())


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(document).validate()


def test_the_document_lists_every_route_of_the_router(document: dict[str, Any]) -> None:
    app = full_app()
    routed = router_routes(app)
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    api_routes = {route for route in routed if route[1].startswith("/api/")}
    assert api_routes, "the router has /api routes"
    assert api_routes <= documented, api_routes - documented
    assert documented <= routed, documented - routed
    assert {("GET", "/ws"), ("POST", "/login"), ("GET", "/healthz")} <= documented


def test_each_route_says_who_may_call_it(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/wallboard"]["get"]
    assert operation["x-roles"] == ["admin", "supervisor"]
    assert "403" in operation["responses"] and "401" in operation["responses"]
    assert document["paths"]["/login"]["post"]["security"] == []
    assert document["paths"]["/api/flows/publish"]["post"]["x-roles"] == ["admin"]
    messages = {ref["$ref"].rsplit("/", 1)[1] for ref in document["paths"]["/ws"]["get"]["x-messages"]}
    assert messages == {"HelloMessage", "AgentMessage", "CallsMessage", "CallMessage",
                        "WallboardMessage", "PopMessage", "CallbackMessage", "CallbackOfferMessage",
                        "TicketEscalationMessage", "VisitMessage", "TicketChangedMessage",
                        "TicketGoneMessage"}


def test_openapi_path_drops_the_patterns() -> None:
    assert openapi_path(r"/api/customers/{id:\d{1,9}}/history") == "/api/customers/{id}/history"
    assert openapi_path("/api/flows/{name}") == "/api/flows/{name}"


# ---- the fake page server


def test_the_fake_serves_only_routes_of_the_contract() -> None:
    fake_routes = router_routes(FakeDesk().app(), "/api/")
    contract = {
        (op.method, openapi_path(op.path)) for op in ContractCheck.of_server().operations
    }
    assert fake_routes <= contract, fake_routes - contract


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeDesk, TestClient[web.Request, web.Application]]]:
    desk = FakeDesk(ContractCheck.of_server())
    client = TestClient(TestServer(desk.app()))
    await client.start_server()
    try:
        yield desk, client
    finally:
        await client.close()


async def _as(client: TestClient[web.Request, web.Application], username: str) -> None:
    response = await client.post("/login", json={"username": username, "password": PASSWORD})
    assert response.status == 200


async def test_the_fake_answers_the_declared_shapes(
    fake: tuple[FakeDesk, TestClient[web.Request, web.Application]],
) -> None:
    """Every route the pages use, as an agent and as a supervisor, errors included."""
    desk, client = fake
    asked: list[tuple[str, str, Any]] = [
        ("POST", "/login", {"username": "agent1", "password": "wrong"}),
    ]
    for method, path, body in asked:
        await client.request(method, path, json=body)
    assert (await client.get("/api/me")).status == 401
    await _as(client, "agent1")
    as_agent: list[tuple[str, str, Any]] = [
        ("GET", "/api/me", None),
        ("GET", "/api/meta", None),
        ("GET", "/api/agent", None),
        ("POST", "/api/agent/pause", {"reason": "lunch"}),  # 409: not logged in
        ("POST", "/api/agent/login", {}),
        ("POST", "/api/agent/pause", {"reason": "coffee"}),  # 400
        ("POST", "/api/agent/pause", {"reason": "lunch"}),
        ("POST", "/api/agent/ready", None),
        ("POST", "/api/agent/transfer", {"extension": "1002"}),  # 409: no call
        ("POST", "/api/agent/transfer", {"extension": "9999"}),  # 404
        ("GET", "/api/customers?phone=13800138000", None),
        ("GET", "/api/customers?phone=020-12345678", None),
        ("GET", "/api/customers/1", None),
        ("GET", "/api/customers/999", None),  # 404
        ("GET", "/api/customers/1/history", None),
        ("POST", "/api/customers", {"name": "新客户", "phone": "13900000000", "city": "深圳市"}),
        ("POST", "/api/customers", {"name": ""}),  # 400
        ("POST", "/api/tickets", {"type": "repair", "summary": "不制冷", "customer_id": 1,
                                  "product_id": 11, "call_id": "1718000000.42"}),
        ("POST", "/api/tickets", {"type": "inquiry", "summary": "问价"}),
        ("POST", "/api/tickets", {"type": "party", "summary": "x"}),  # 400
        ("GET", "/api/tickets?customer_id=1", None),
        ("GET", "/api/tickets?call_id=1718000000.42", None),
        ("GET", "/api/kb?q=空调", None),
        ("GET", "/api/kb?lang=en", None),
        ("POST", "/api/kb/1/read", None),
        ("POST", "/api/kb/999/read", None),  # 404
        ("GET", "/api/wallboard", None),  # 403
        ("POST", "/api/agent/logout", None),
        ("POST", "/logout", None),
    ]
    for method, path, body in as_agent:
        await client.request(method, path, json=body)
    await _as(client, "clerk")
    assert (await client.get("/api/agent")).status == 404
    await _as(client, "super")
    for path in ("/api/wallboard", "/api/reports/daily", "/api/reports/daily?date=2026-11-25",
                 "/api/reports/daily?date=2026-13-45"):
        await client.get(path)

    assert desk.contract is not None
    assert desk.contract.problems == []
    statuses = {status for _, _, status in desk.contract.answered}
    assert {200, 201, 400, 401, 403, 404, 409} <= statuses
    used = {(method, path.split("?")[0]) for method, path, _ in as_agent}
    assert len(used) >= 20


async def test_the_fake_pushes_the_declared_messages(
    fake: tuple[FakeDesk, TestClient[web.Request, web.Application]],
) -> None:
    desk, client = fake
    await _as(client, "super")
    ws = await client.ws_connect("/ws")
    await ws.receive_json(timeout=5)  # hello
    await ws.receive_json(timeout=5)  # calls
    call = live_call("1718000050.2", "13800138000", "张伟")
    await desk.push_supervisors({"type": "call", "event": "started", "call": call})
    await desk.push_supervisors({"type": "wallboard", "wallboard": sample_wallboard()})
    await desk.push(1, {"type": "pop", "event": "ringing", "pop": sample_pop()})
    await desk.push(1, {"type": "pop", "event": "ended", "pop": sample_pop(ended=True)})
    await desk.push(1, {"type": "pop", "event": "ringing", "pop": sample_pop("1.9", customers=[])})
    await ws.close()
    assert desk.contract is not None
    assert desk.contract.problems == []
    wrong = desk.contract.message_problem({"type": "pop", "event": "ringing", "pop": {}})
    assert wrong is not None and "call_id" in wrong


# ---- the mechanism


class Greeting(Shape):
    text: str


class GreetingAsked(RequestBody):
    name: Annotated[str, StringConstraints(min_length=1)]
    mood: Annotated[str, OneOf(("calm", "busy"))] = "calm"


async def _greet(request: web.Request) -> dict[str, Any]:
    asked = body_of(request, GreetingAsked)
    if asked.name == "broken":
        return {"text": 1, "extra": True}
    return {"text": f"你好 {asked.name}"}


@pytest.mark.parametrize("checking", [True, False])
async def test_bodies_are_validated_and_answers_checked(
    checking: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = web.Application()
    app[CHECK_ANSWERS_KEY] = checking
    route(app, "POST", "/greet", _greet, summary="greet", public=True, body=GreetingAsked,
          answer=Greeting, status=201)
    async with TestClient(TestServer(app)) as client:
        ok = await client.post("/greet", json={"name": "张伟"})
        assert (ok.status, await ok.json()) == (201, {"text": "你好 张伟"})
        for body, message in [
            ({}, "name is required"),
            ({"name": 5}, "name: Input should be a valid string"),
            ({"name": "a", "mood": "sad"}, "mood must be one of calm, busy"),
        ]:
            bad = await client.post("/greet", json=body)
            assert (bad.status, await bad.json()) == (400, {"error": message})
        malformed = await client.post("/greet", data=b"{", headers={"Content-Type": "application/json"})
        assert (malformed.status, await malformed.json()) == (400, {"error": "malformed JSON"})
        broken = await client.post("/greet", json={"name": "broken"})
        if checking:
            assert broken.status == 500 and "POST /greet" in (await broken.json())["error"]
        else:  # sent as built, and logged
            assert (broken.status, await broken.json()) == (201, {"text": 1, "extra": True})
    assert "breaks its declaration" in caplog.text


def test_a_route_must_say_who_may_call_it() -> None:
    with pytest.raises(TypeError, match="declare the roles"):
        route(web.Application(), "GET", "/api/anything", _greet, summary="no roles", answer=Greeting)
