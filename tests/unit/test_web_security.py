"""No write from another origin, sessions that end, input that gets a clear 4xx (issue 18).

One server per module (aiohttp's test server on a migrated SQLite file with the flows);
each test logs in with its own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestServer, make_mocked_request

from ctiserver.settings import Settings, SettingsError, load_settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.sessions import SessionRepository
from ctiserver.users.store import UserRepository
from ctiserver.web.auth import COOKIE_NAME
from ctiserver.web.keys import SESSIONS_KEY
from ctiserver.web.origin import OriginCheck
from ctiserver.web.ws import SESSION_ENDED, close_ended_sessions
from tests.unit.test_flows_api import hotline_registry
from tests.unit.test_web import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.web_app import build_app

PASSWORD = "pw 口令"
_phones = iter(range(13800138000, 13800139000))


def customer() -> dict[str, str]:
    """A new customer's quick-create body, a new phone each time."""
    return {"name": "张伟", "phone": str(next(_phones))}


class Lab:
    def __init__(self, server: TestServer, app: web.Application, users: UserRepository, db_url: str) -> None:
        self.server, self.app, self.users, self.db_url = server, app, users, db_url
        self.users_made: list[str] = []

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def client(self, username: str | None = "agent1001") -> aiohttp.ClientSession:
        """A browser of its own (its own cookies), logged in as ``username``."""
        client = aiohttp.ClientSession(base_url=self.url("/"), cookie_jar=aiohttp.CookieJar(unsafe=True))
        if username is not None:
            response = await client.post("/login", json={"username": username, "password": PASSWORD})
            assert response.status == 200, await response.text()
        return client


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    tmp_path = tmp_path_factory.mktemp("websec")
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    for name, role in (("agent1001", "agent"), ("agent1002", "agent"), ("supervisor", "supervisor"),
                       ("admin", "admin")):
        await users.add(name, PASSWORD, role)
    settings = Settings().replace(web={"session_secret": "websec test secret", "websockets_per_user": 8,
                                       "websocket_max_message": 4096})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users,
                    flows=await hotline_registry(tmp_path, db))
    server = TestServer(app)
    await server.start_server()
    yield Lab(server, app, users, url)
    await server.close()
    await db.close()


# ---- no writes from other origins


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Referer": "http://evil.example/page.html"},
])
async def test_a_write_from_another_origin_is_refused(lab: Lab, headers: dict[str, str]) -> None:
    client = await lab.client()
    try:
        response = await client.post("/api/customers", json=customer(), headers=headers)
        assert response.status == 403
        assert await response.json() == {"error": "request from another origin refused"}
        # another port of the same host is another origin
        port = lab.server.port or 0
        other = {"Origin": f"http://{lab.server.host}:{port + 1}"}
        assert (await client.post("/api/customers", json=customer(), headers=other)).status == 403
    finally:
        await client.close()


async def test_a_write_from_our_own_pages_or_without_origin_goes_through(lab: Lab) -> None:
    client = await lab.client()
    try:
        own = {"Origin": f"http://{lab.server.host}:{lab.server.port}"}
        response = await client.post("/api/customers", json=customer(), headers=own)
        assert response.status == 201, await response.text()
        referer = {"Referer": f"http://{lab.server.host}:{lab.server.port}/ui/agent.html"}
        assert (await client.post("/api/customers", json=customer(), headers=referer)).status == 201
        assert (await client.post("/api/customers", json=customer())).status == 201  # curl, scripts
        # reading is not writing: a GET from anywhere is answered as before
        assert (await client.get("/api/me", headers={"Origin": "http://evil.example"})).status == 200
    finally:
        await client.close()


async def test_a_login_from_another_origin_is_refused(lab: Lab) -> None:
    """Login CSRF: a form on another site must not log the browser in as its account."""
    client = await lab.client(None)
    try:
        form = {"username": "agent1002", "password": PASSWORD}
        response = await client.post("/login", data=form, headers={"Origin": "http://evil.example"})
        assert response.status == 403
        assert COOKIE_NAME not in response.cookies
        assert (await client.get("/api/me")).status == 401
    finally:
        await client.close()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_json_routes_take_only_json(lab: Lab, content_type: str) -> None:
    """What a browser sends across origins without asking first is never read as JSON."""
    client = await lab.client()
    try:
        response = await client.post(
            "/api/customers", data=json.dumps(customer()).encode(), headers={"Content-Type": content_type}
        )
        assert response.status == 415
        assert "application/json" in (await response.json())["error"]
    finally:
        await client.close()


async def test_a_websocket_from_another_origin_is_refused(lab: Lab) -> None:
    client = await lab.client()
    try:
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
    finally:
        await client.close()


# ---- sessions that end


async def test_a_copied_cookie_is_refused_after_logout(lab: Lab) -> None:
    client = await lab.client()
    thief = await lab.client(None)
    try:
        copied = client.cookie_jar.filter_cookies(lab.server.make_url("/"))[COOKIE_NAME].value
        thief.cookie_jar.update_cookies({COOKIE_NAME: copied})
        assert (await thief.get("/api/me")).status == 200
        assert (await client.post("/logout")).status == 200
        assert (await thief.get("/api/me")).status == 401
    finally:
        await client.close()
        await thief.close()


async def test_an_idle_session_ends(lab: Lab) -> None:
    sessions = lab.app[SESSIONS_KEY]
    client = await lab.client()
    try:
        assert (await client.get("/api/me")).status == 200
        sessions.clock = lambda: time.time() + sessions.idle + 1
        assert (await client.get("/api/me")).status == 401
    finally:
        sessions.clock = time.time
        await client.close()


async def test_a_session_ends_after_its_lifetime_however_busy(lab: Lab) -> None:
    sessions = lab.app[SESSIONS_KEY]
    client = await lab.client()
    start = time.time()
    try:
        at = start
        while at + sessions.idle / 2 < start + sessions.lifetime - 60:
            at += sessions.idle / 2
            sessions.clock = lambda at=at: at  # type: ignore[misc]
            assert (await client.get("/api/me")).status == 200, (at - start) / 3600
        sessions.clock = lambda: start + sessions.lifetime + 1
        assert (await client.get("/api/me")).status == 401
    finally:
        sessions.clock = time.time
        await client.close()


async def test_a_new_password_or_role_ends_the_users_sessions(lab: Lab) -> None:
    await lab.users.add("agent1077", PASSWORD, "agent")
    user = await lab.users.find("agent1077")
    assert user is not None
    first, second = await lab.client("agent1077"), await lab.client("agent1077")
    try:
        changed = await lab.users.change(user.id, password=PASSWORD)
        assert changed is not None and changed.sessions_ended == 2
        assert (await first.get("/api/me")).status == 401
        assert (await second.get("/api/me")).status == 401
        third = await lab.client("agent1077")
        try:
            changed = await lab.users.change(user.id, role="supervisor")
            assert changed is not None and changed.fields == ("role",)
            assert (await third.get("/api/me")).status == 401
        finally:
            await third.close()
    finally:
        await first.close()
        await second.close()


async def socket_of(client: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    socket = await client.ws_connect("/ws")
    assert (await socket.receive_json())["type"] == "hello"
    return socket


async def closed_with(socket: aiohttp.ClientWebSocketResponse, within: float = 5.0) -> int | None:
    """The close code the server sends, within ``within`` seconds (well before the periodic
    check, ``web.session_check``: the ends of this process close the sockets at once)."""
    async with asyncio.timeout(within):
        while (message := await socket.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    return socket.close_code


async def still_open(socket: aiohttp.ClientWebSocketResponse) -> bool:
    """Open: the server answers a ping (the feed is one-way; the socket stays usable)."""
    if socket.closed:
        return False
    await socket.ping()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.3):
            message = await socket.receive()
            return message.type is aiohttp.WSMsgType.TEXT
    return not socket.closed


async def test_a_logout_closes_the_websockets_of_that_session_at_once(lab: Lab) -> None:
    await lab.users.add("agent1081", PASSWORD, "agent")
    tab, other_browser = await lab.client("agent1081"), await lab.client("agent1081")
    second_tab = await lab.client(None)  # the same browser's other tab: the same cookie
    second_tab.cookie_jar.update_cookies(
        {COOKIE_NAME: tab.cookie_jar.filter_cookies(lab.server.make_url("/"))[COOKIE_NAME].value})
    try:
        sockets = [await socket_of(tab), await socket_of(second_tab)]
        elsewhere = await socket_of(other_browser)
        assert (await tab.post("/logout")).status == 200
        assert [await closed_with(s) for s in sockets] == [SESSION_ENDED, SESSION_ENDED]
        assert await still_open(elsewhere), "the user's session in another browser goes on"
        assert (await other_browser.get("/api/me")).status == 200
        with pytest.raises(WSServerHandshakeError) as refused:
            await second_tab.ws_connect("/ws")
        assert refused.value.status == 401
    finally:
        for client in (tab, second_tab, other_browser):
            await client.close()


@pytest.mark.parametrize("change", [{"password": "a new long password 1"}, {"role": "supervisor"},
                                    {"disabled": True}])
async def test_a_new_password_or_role_or_a_disabled_account_closes_the_users_websockets(
    lab: Lab, change: dict[str, Any],
) -> None:
    name = f"agent10{90 + len(lab.users_made)}"
    lab.users_made.append(name)
    user = await lab.users.add(name, PASSWORD, "agent")
    first, second = await lab.client(name), await lab.client(name)
    bystander = await lab.client("agent1002")
    try:
        sockets = [await socket_of(first), await socket_of(first), await socket_of(second)]
        theirs = await socket_of(bystander)
        changed = await lab.users.change(user.id, **change)
        assert changed is not None and changed.sessions_ended == 2
        assert [await closed_with(s) for s in sockets] == [SESSION_ENDED] * 3
        assert await still_open(theirs), "another user's socket is left alone"
    finally:
        for client in (first, second, bystander):
            await client.close()


async def test_a_session_ended_by_another_process_closes_its_websockets_at_the_check(lab: Lab) -> None:
    """``ctiserver user sessions --revoke`` or another server: no word reaches this process;
    the periodic check (``close_ended_sessions``, every ``web.session_check`` s) finds it."""
    await lab.users.add("agent1085", PASSWORD, "agent")
    client = await lab.client("agent1085")
    elsewhere = Database(lab.db_url)  # another process's view of the same database
    try:
        socket = await socket_of(client)
        user = await lab.users.find("agent1085")
        assert user is not None
        other = SessionRepository(elsewhere, secret="websec test secret", idle=3600, lifetime=7200)
        assert await other.revoke_user(user.id) == 1
        assert await still_open(socket), "not told: open until the check"
        assert await close_ended_sessions(lab.app) == 1
        assert await closed_with(socket) == SESSION_ENDED
    finally:
        await elsewhere.close()
        await client.close()


async def test_a_new_login_ends_the_browsers_old_session(lab: Lab) -> None:
    client = await lab.client()
    try:
        old = client.cookie_jar.filter_cookies(lab.server.make_url("/"))[COOKIE_NAME].value
        await client.post("/login", json={"username": "agent1002", "password": PASSWORD})
        thief = await lab.client(None)
        thief.cookie_jar.update_cookies({COOKIE_NAME: old})
        assert (await thief.get("/api/me")).status == 401
        await thief.close()
    finally:
        await client.close()


# ---- input limits


async def test_deeply_nested_json_is_a_400(lab: Lab) -> None:
    nested = b"[" * 60_000 + b"]" * 60_000
    anonymous = await lab.client(None)
    client = await lab.client()
    try:
        for who, path in ((anonymous, "/login"), (client, "/api/customers")):
            response = await who.post(path, data=nested, headers={"Content-Type": "application/json"})
            assert response.status in (400, 413), await response.text()
        small = b'{"name": ' + b"[" * 40 + b"]" * 40 + b"}"
        response = await client.post("/api/customers", data=small, headers={"Content-Type": "application/json"})
        assert response.status == 400
        assert "nested deeper" in (await response.json())["error"]
    finally:
        await anonymous.close()
        await client.close()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/tickets", {"type": "repair", "summary": "不开机", "customer_id": 2**63}),
    ("POST", "/api/tickets", {"type": "repair", "summary": "不开机", "product_id": 2**40}),
    ("GET", f"/api/tickets?customer_id={2**63}", None),
    ("GET", f"/api/tickets?branch_id={10**30}", None),
    ("POST", "/api/dispatch/rules", {"department": "repair", "branch_id": 2**31}),
])
async def test_integers_beyond_the_columns_are_a_400(lab: Lab, method: str, path: str, body: Any) -> None:
    client = await lab.client("admin" if "dispatch" in path else "supervisor")
    try:
        response = await client.request(method, path, json=body)
        assert response.status == 400, await response.text()
    finally:
        await client.close()


async def test_an_unknown_customer_is_a_4xx(lab: Lab) -> None:
    client = await lab.client("supervisor")
    try:
        body = {"type": "repair", "summary": "不开机", "customer_id": 2**31 - 1}
        response = await client.post("/api/tickets", json=body)
        assert 400 <= response.status < 500, await response.text()
    finally:
        await client.close()


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


async def test_a_yaml_alias_bomb_is_refused_small_and_the_server_goes_on(lab: Lab) -> None:
    client = await lab.client("admin")
    try:
        source = alias_bomb()
        assert len(source) < 600
        check = asyncio.ensure_future(client.post("/api/flows/check", json={"source": source}))
        assert (await client.get("/api/me")).status == 200
        response = await check
        text = await response.text()
        assert response.status == 200 and len(text) < 2000, text[:200]
        body = json.loads(text)
        assert body["ok"] is False and "aliases" in body["problems"][0]["message"]
        assert body["problems"][0]["line"] == 2
        response = await client.post("/api/flows/publish", json={"source": source})
        assert response.status == 422 and len(await response.read()) < 2000
    finally:
        await client.close()


async def test_websockets_per_user_are_capped_and_the_server_goes_on(lab: Lab) -> None:
    client = await lab.client("agent1002")
    other = await lab.client("supervisor")
    opened: list[aiohttp.ClientWebSocketResponse] = []
    try:
        async def attempt() -> int:
            try:
                opened.append(await client.ws_connect("/ws"))
            except WSServerHandshakeError as exc:
                return exc.status
            return 101

        statuses = await asyncio.gather(*(attempt() for _ in range(1000)))
        assert statuses.count(101) == 8 and statuses.count(429) == 992
        assert (await other.get("/api/me")).status == 200
        socket = await other.ws_connect("/ws")
        assert (await socket.receive_json())["type"] == "hello"
        # a message over the limit closes that socket with "message too big"
        await socket.send_str("x" * 5000)
        closing = await socket.receive()
        while closing.type is aiohttp.WSMsgType.TEXT:  # the snapshot sent after the hello
            closing = await socket.receive()
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert socket.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        # a closed socket frees its place
        await opened.pop().close()
        await asyncio.sleep(0.05)
        opened.append(await client.ws_connect("/ws"))
    finally:
        for ws in opened:
            await ws.close()
        await client.close()
        await other.close()


async def test_healthz_tells_anyone_only_up_or_down(lab: Lab) -> None:
    anonymous, agent, admin = await lab.client(None), await lab.client(), await lab.client("admin")
    try:
        assert await (await anonymous.get("/healthz")).json() == {"status": "ok"}
        assert await (await agent.get("/healthz")).json() == {"status": "ok"}
        detailed = await (await admin.get("/healthz")).json()
        assert detailed["status"] == "ok" and detailed["ami"] == {"connected": True}
        assert {"database", "parts", "writers", "checks"} <= set(detailed)
    finally:
        for client in (anonymous, agent, admin):
            await client.close()


@pytest.mark.parametrize(("name", "value"), [
    ("ORIGINS", "cti.example.com"), ("ORIGINS", "https://cti.example.com/pages"),
    ("TRUSTED_PROXIES", "proxy.local"), ("SESSION_IDLE", "0"),
])
async def test_web_settings_that_cannot_work_are_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"web.{name.lower()}|must be positive"):
        load_settings(environ={f"CTISERVER_WEB__{name}": value})
    good = load_settings(environ={"CTISERVER_WEB__ORIGINS": "https://cti.example.com,http://10.0.0.5:8080",
                                  "CTISERVER_WEB__TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert good.web.origins == ("https://cti.example.com", "http://10.0.0.5:8080")
    assert good.web.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"Origin": "https://cti.example.com"}, True),
    ({"Origin": "https://CTI.example.com:443"}, True),
    ({"Referer": "https://cti.example.com/ui/agent.html"}, True),
    ({}, True),
    ({"Origin": "http://cti.example.com"}, False),  # the same host over plain HTTP is another origin
    ({"Origin": "https://cti.example.com:8443"}, False),
    ({"Origin": "https://cti.example.com.evil.example"}, False),
    ({"Origin": "null"}, False),
    ({"Referer": "https://evil.example/?https://cti.example.com"}, False),
])
async def test_configured_origins_are_the_only_ones(headers: dict[str, str], allowed: bool) -> None:
    check = OriginCheck(["https://cti.example.com"])
    request = make_mocked_request("POST", "/api/customers", headers={"Host": "127.0.0.1:8080", **headers})
    assert check.allowed(request) is allowed
