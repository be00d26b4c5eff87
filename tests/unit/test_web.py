"""The web app against a migrated SQLite database and a fake call tracker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import OpenAPIV31SpecValidator

from ctiserver.calls.store import CallRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from ctiserver.web.auth import COOKIE_NAME
from ctiserver.web.hub import LiveHub
from ctiserver.web.keys import WEBSOCKETS_KEY
from tests.support.web_fakes import (
    FAST_HASHER,
    T0,
    XSS,
    EndedCall,
    FakeAmi,
    FakeCall,
    FakeTracker,
    FakeUpdate,
    SlowSocket,
)
from tests.unit.web_app import build_app

# aiohttp-session 2.12 stores its own request keys as strings; not ours to fix

@dataclasses.dataclass
class Env:
    client: TestClient[web.Request, web.Application]
    tracker: FakeTracker
    ami: FakeAmi
    db: Database
    app: web.Application


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    await users.add("agent1001", "pw1001", "agent", "王小明")
    await users.add("supervisor", "pw-sup", "supervisor", "值班主管")
    tracker, ami = FakeTracker(), FakeAmi()
    settings = Settings().replace(
        web={"session_secret": "any passphrase 口令", "session_max_age": 3600}
    )
    app = build_app(settings, db=db, calls=tracker, ami=ami, users=users, clock=lambda: T0 + 30)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Env(client, tracker, ami, db, app)
    await client.close()
    await db.close()


async def login(
    client: TestClient[web.Request, web.Application],
    username: str = "agent1001",
    password: str = "pw1001",
) -> None:
    response = await client.post("/login", json={"username": username, "password": password})
    assert response.status == 200, await response.text()


async def test_login_sets_a_hardened_session_cookie(env: Env) -> None:
    response = await env.client.post("/login", json={"username": "agent1001", "password": "pw1001"})
    assert response.status == 200
    body = await response.json()
    assert body["user"]["username"] == "agent1001"
    assert body["user"]["role"] == "agent"
    assert body["user"]["display_name"] == "王小明"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == "3600"

    me = await env.client.get("/api/me")
    assert me.status == 200
    assert (await me.json())["user"] == body["user"]


async def test_login_with_form_data(env: Env) -> None:
    response = await env.client.post("/login", data={"username": "agent1001", "password": "pw1001"})
    assert response.status == 200
    assert (await response.json())["user"]["username"] == "agent1001"


@pytest.mark.parametrize(
    "credentials",
    [{"username": "agent1001", "password": "nope"}, {"username": "x", "password": "y"}],
)
async def test_login_rejects_wrong_credentials(env: Env, credentials: dict[str, str]) -> None:
    response = await env.client.post("/login", json=credentials)
    assert response.status == 401
    assert "error" in await response.json()
    assert COOKIE_NAME not in response.cookies
    assert (await env.client.get("/api/me")).status == 401


async def test_login_rejects_malformed_requests(env: Env) -> None:
    response = await env.client.post(
        "/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    response = await env.client.post("/login", json={"username": "agent1001"})
    assert response.status == 400
    assert "error" in await response.json()


@pytest.mark.parametrize(
    "path", ["/api/me", "/api/calls", "/api/calls?state=ended", "/api/nope", "/ws"]
)
async def test_protected_paths_need_a_session(env: Env, path: str) -> None:
    response = await env.client.get(path)
    assert response.status == 401
    assert response.content_type == "application/json"
    assert (await response.json()) == {"error": "login required"}


async def test_public_paths(env: Env) -> None:
    assert (await env.client.get("/healthz")).status == 200
    page = await env.client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    assert "4008001234" in await page.text()
    assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("cookie", ["made-up-token", '{"session": {"user_id": 1}}', "x" * 4000])
async def test_forged_or_foreign_cookie_is_not_a_session(env: Env, cookie: str) -> None:
    """The cookie is a random token the database knows, or nothing."""
    env.client.session.cookie_jar.update_cookies({COOKIE_NAME: cookie})
    assert (await env.client.get("/api/me")).status == 401


async def test_logout_ends_the_session(env: Env) -> None:
    await login(env.client)
    assert (await env.client.post("/logout")).status == 200
    assert (await env.client.get("/api/me")).status == 401


async def test_unknown_api_path_is_a_json_404(env: Env) -> None:
    await login(env.client)
    response = await env.client.get("/api/nope")
    assert response.status == 404
    assert "error" in await response.json()


async def test_healthz_reports_ami_and_database(env: Env) -> None:
    await UserRepository(env.db, FAST_HASHER).add("admin", "pw-admin", "admin")
    await login(env.client, "admin", "pw-admin")
    response = await env.client.get("/healthz")
    assert await response.json() == {
        "status": "ok", "ami": {"connected": True}, "database": {"ok": True}, "parts": {},
        "writers": {}, "checks": {},
    }
    env.ami.connected = False
    response = await env.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "degraded", "ami": {"connected": False}, "database": {"ok": True}, "parts": {},
        "writers": {}, "checks": {},
    }


async def test_healthz_reports_an_unreachable_database() -> None:
    # not a broken SQLite file: aiosqlite leaves a worker thread behind after a failed connect
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    app = build_app(Settings(), db=db, calls=FakeTracker(), ami=FakeAmi())
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        # anonymous (no session can be read from that database either): up or down only
        assert await response.json() == {"status": "degraded"}
    await db.close()


async def test_only_supervisors_list_every_call(env: Env) -> None:
    """Callers' numbers and names of every call are not for agents: 403 (their own calls
    reach them on their desk)."""
    await login(env.client)  # agent1001
    for path in ("/api/calls", "/api/calls?state=ended"):
        response = await env.client.get(path)
        assert (response.status, await response.json()) == (403, {"error": "supervisors and admins only"})


async def test_api_calls_active_and_ended(env: Env) -> None:
    await login(env.client, "supervisor", "pw-sup")
    env.tracker.emit("started", FakeCall("1714523400.1", "13800138000", "张伟"))
    await CallRepository(env.db).save(
        EndedCall("1714523000.5", "13912345678", XSS, T0 - 400, T0 - 340)
    )

    active = await (await env.client.get("/api/calls?state=active")).json()
    assert active == {
        "calls": [FakeCall("1714523400.1", "13800138000", "张伟").to_dict(T0 + 30)]
    }
    assert await (await env.client.get("/api/calls")).json() == active

    response = await env.client.get("/api/calls?state=ended")
    assert response.content_type == "application/json"
    raw = await response.text()
    assert XSS in raw  # data in JSON, never HTML: it is the client's job to insert it as text
    (ended,) = (await response.json())["calls"]
    assert ended["id"] == "1714523000.5" and ended["state"] == "ended"
    assert ended["caller_name"] == XSS and ended["duration"] == 60.0

    bad = await env.client.get("/api/calls?state=ringing")
    assert bad.status == 400 and "error" in await bad.json()
    assert (await env.client.get("/api/calls?state=ended&limit=0")).status == 400


async def test_websocket_needs_a_session(env: Env) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
        await env.client.ws_connect("/ws")
    assert excinfo.value.status == 401


async def test_websocket_refuses_foreign_origins(env: Env) -> None:
    await login(env.client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
        await env.client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    assert excinfo.value.status == 403


async def test_websocket_hello_snapshot_and_updates(env: Env) -> None:
    env.tracker.emit("started", FakeCall("1.1", "13800138000", "张伟"))
    await login(env.client, "supervisor", "pw-sup")
    ws = await env.client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["user"]["username"] == "supervisor"
    assert hello["agent"] is None  # no desk in this app
    snapshot = await ws.receive_json(timeout=5)
    expected = FakeCall("1.1", "13800138000", "张伟").to_dict(T0 + 30)
    assert snapshot == {"type": "calls", "calls": [expected]}

    env.tracker.emit("started", FakeCall("1.2", "13912345678", XSS))
    update = await ws.receive(timeout=5)
    assert update.type is WSMsgType.TEXT
    assert XSS in update.data  # plain JSON text; the desktop must insert it as text
    assert update.json() == {
        "type": "call", "event": "started",
        "call": FakeCall("1.2", "13912345678", XSS).to_dict(T0 + 30),
    }
    env.tracker.emit("ended", FakeCall("1.1", "13800138000", "张伟", state="ended"))
    raw = await ws.receive_str(timeout=5)
    assert "张伟" in raw  # UTF-8 as is, not \u escapes
    ended = json.loads(raw)
    assert ended["event"] == "ended"
    assert (ended["call"]["id"], ended["call"]["caller_name"]) == ("1.1", "张伟")
    await ws.close()


async def test_websocket_closed_on_shutdown(env: Env) -> None:
    await login(env.client, "supervisor", "pw-sup")
    sockets = [await env.client.ws_connect("/ws") for _ in range(2)]
    for ws in sockets:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        assert (await ws.receive_json(timeout=5))["type"] == "calls"
    assert len(env.app[WEBSOCKETS_KEY]) == 2
    assert len(env.tracker.listeners) == 1

    shutdown = asyncio.create_task(env.client.server.close())
    for ws in sockets:
        message = await ws.receive(timeout=5)
        assert message.type is WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
    await asyncio.wait_for(shutdown, 10)
    assert len(env.app[WEBSOCKETS_KEY]) == 0
    assert env.tracker.listeners == []  # the cleanup context unsubscribed


async def test_slow_client_is_dropped_without_blocking_others() -> None:
    hub = LiveHub(clock=lambda: T0, queue_size=3)
    slow_ws, fast_ws = SlowSocket(), SlowSocket()
    # supervisors: each queue starts with the (empty) calls snapshot
    slow = hub.attach(slow_ws, user_id=1, role="supervisor")  # type: ignore[arg-type]
    fast = hub.attach(fast_ws, user_id=2, role="admin")  # type: ignore[arg-type]
    call = FakeCall("9.1", "1001", "测试")

    hub.publish(FakeUpdate("updated", call))
    hub.publish(FakeUpdate("updated", call))
    for _ in range(2):
        fast.queue.get_nowait()  # the fast client keeps up
    hub.publish(FakeUpdate("updated", call))  # the slow one overflows here
    await asyncio.sleep(0)
    assert slow_ws.closed_with == WSCloseCode.TRY_AGAIN_LATER
    assert fast_ws.closed_with is None

    hub.publish(FakeUpdate("ended", call))
    assert slow.queue.qsize() == 3  # no longer fed
    assert fast.queue.qsize() == 3


async def test_meta_gives_the_pages_the_vocabulary_and_the_settings(env: Env) -> None:
    assert (await env.client.get("/api/meta")).status == 401
    await login(env.client)
    response = await env.client.get("/api/meta")
    assert response.status == 200
    meta = await response.json()
    assert meta["roles"] == ["agent", "supervisor", "admin", "staff"]
    assert meta["supervisor_roles"] == ["admin", "supervisor"]
    assert meta["ticket_types"] == ["repair", "complaint", "installation", "moving", "removal", "inquiry"]
    assert meta["departments"]["moving"] == "installation"
    assert meta["ticket_statuses"][:3] == ["new", "dispatched", "scheduled"]
    assert meta["ticket_transitions"]["return_visit"] == ["closed", "reopened"]
    assert [f["key"] for f in meta["ticket_fields"]["complaint"]] == ["about", "severity", "resolution"]
    assert "lunch" in meta["pause_reasons"] and meta["customer_levels"] == ["normal", "vip"]
    assert meta["queues"] == ["support", "repair", "complaint", "installation"]
    assert meta["hotline"] == {"number": "4008001234", "timezone": "Asia/Shanghai"}


async def test_openapi_document_is_served_behind_login(env: Env) -> None:
    assert (await env.client.get("/api/openapi.json")).status == 401
    await login(env.client)
    response = await env.client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    OpenAPIV31SpecValidator(document).validate()
    assert "/api/calls" in document["paths"] and "/api/openapi.json" in document["paths"]
    assert await (await env.client.get("/api/openapi.json")).json() == document
