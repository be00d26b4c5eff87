"""The department work view's live feed: a ticket change reaches the staff of its department
and branch (and the supervisors) watching ``tickets``, never another branch's; whoever it
left is told. And ``GET /api/workview``: staff get their own department, whatever they ask."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ctiserver.dispatch.store import DispatchRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets import EventFeed, bus_of
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from ctiserver.web.contract import add_messages
from ctiserver.web.keys import HUB_KEY
from ctiserver.workview import http as workview_http
from ctiserver.workview.feed import TicketFeed
from ctiserver.workview.model import Handover, Holder, Place, audience, earlier, sees
from ctiserver.workview.schemas import TicketChangedMessage, TicketGoneMessage
from ctiserver.workview.store import WorkViewStore
from tests.staff import FAST_HASHER, add_branch, add_staff
from tests.support.web_fakes import FakeAmi, FakeTracker
from tests.unit.web_app import build_app

PASSWORD = "work view password"


def test_staff_see_their_department_and_branch_and_what_they_are_the_engineer_of() -> None:
    ticket = Holder("complaint", 1, None)
    assert sees(Place(10, "complaint", 1), ticket)
    assert sees(Place(11, "complaint", None), ticket), "no branch: every branch of the department"
    assert not sees(Place(12, "complaint", 2), ticket)
    assert not sees(Place(13, "repair", 1), ticket)
    assert not sees(Place(14, None, None), ticket)
    assert sees(Place(14, None, None), Holder("complaint", 1, 14)), "the engineer"
    places = [Place(10, "complaint", 1), Place(12, "complaint", 2), Place(13, "repair", None)]
    assert audience(places, ticket) == {10}


def test_the_holder_before_a_change_is_read_back_from_its_events() -> None:
    now = Holder("complaint", 2, 7)
    steps = [
        Handover("dispatched", {"department": "complaint", "branch_id": 2,
                                "before": {"department": "complaint", "branch_id": 1}}),
        Handover("scheduled", {"engineer_id": 7, "before": {"engineer_id": None}}),
        Handover("started", {}),
    ]
    assert earlier(now, steps) == Holder("complaint", 1, None)
    assert earlier(now, [Handover("fields", {"before": {"result": None}})]) == now
    assert earlier(now, [Handover("dispatched", {"before": "nonsense"})]) == now


@dataclass
class Env:
    server: TestServer
    db: Database
    feed: TicketFeed
    tickets: TicketRepository
    ids: dict[str, int]
    branches: dict[str, int]
    sessions: list[aiohttp.ClientSession]

    async def session(self, username: str) -> aiohttp.ClientSession:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(http)
        login = await http.post(self.server.make_url("/login"), json={"username": username, "password": PASSWORD})
        assert login.status == 200, await login.text()
        return http

    async def socket(self, username: str, watch: str = "tickets") -> aiohttp.ClientWebSocketResponse:
        http = await self.session(username)
        ws = await http.ws_connect(self.server.make_url(f"/ws?watch={watch}"))
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        if username == "supervisor":
            assert (await ws.receive_json(timeout=5))["type"] == "calls"
        return ws


@contextlib.asynccontextmanager
async def work_env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    users = UserRepository(db, FAST_HASHER)
    ids = {"supervisor": (await users.add("supervisor", PASSWORD, "supervisor")).id,
           "agent": (await users.add("agent", PASSWORD, "agent")).id}
    branches = {"beijing": await add_branch(db, "北京分部", "北京"), "shanghai": await add_branch(db, "上海分部", "上海")}
    for username, department, branch in (("bj", "complaint", "beijing"), ("sh", "complaint", "shanghai"),
                                         ("lead", "complaint", None), ("fixer", "repair", None)):
        branch_id = None if branch is None else branches[branch]
        ids[username] = await add_staff(db, username, PASSWORD, department, branch_id, f"<b>{username}</b>")
    settings = Settings().replace(web={"session_secret": "work view test secret"})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=users)
    store = WorkViewStore(db)
    workview_http.register(app, store, DispatchRepository(db))
    add_messages(app, TicketChangedMessage, TicketGoneMessage)
    tickets = TicketRepository(db)
    feed = TicketFeed(EventFeed(db, bus_of(db)), store, app[HUB_KEY])
    server = TestServer(app)
    await server.start_server()
    env = Env(server, db, feed, tickets, ids, branches, [])
    try:
        yield env
    finally:
        for http in env.sessions:
            await http.close()
        await server.close()
        await db.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with work_env(tmp_path) as found:
        yield found


async def next_of(ws: aiohttp.ClientWebSocketResponse, env: Env, username: str, n: int) -> list[dict[str, Any]]:
    """What ``username``'s socket got before marker ``n`` (sent to them last)."""
    env.server.app[HUB_KEY].to_user(env.ids[username], {"type": "marker", "n": n})
    got = []
    while True:
        message = await ws.receive_json(timeout=5)
        if message == {"type": "marker", "n": n}:
            return got
        got.append(message)


async def test_a_change_reaches_its_branch_and_the_supervisors_and_not_the_other_branch(env: Env) -> None:
    await env.feed.look()  # takes the cursor
    bj, sh, lead, fixer = [await env.socket(name) for name in ("bj", "sh", "lead", "fixer")]
    supervisor = await env.socket("supervisor")
    unwatched = await env.socket("bj", watch="")
    opened = await env.tickets.open("complaint", "投诉：安装师傅迟到", {}, customer_id=None)
    ticket = await env.tickets.dispatch(opened.id, "complaint", env.branches["beijing"])
    assert await env.feed.look() == 1

    for ws, name in ((bj, "bj"), (lead, "lead"), (supervisor, "supervisor")):
        got = await next_of(ws, env, name, 1)
        assert [m["type"] for m in got] == ["ticket"], name
        assert got[0]["ticket"]["number"] == ticket.number and got[0]["ticket"]["status"] == "dispatched"
        assert got[0]["event"]["kind"] == "dispatched" and got[0]["event"]["to"] == "dispatched"
    assert await next_of(sh, env, "sh", 1) == [], "another branch's staff get nothing"
    assert await next_of(fixer, env, "fixer", 1) == [], "another department's staff get nothing"
    # bj's markers reach both their sockets: the one not watching tickets got marker 1 first
    assert await next_of(unwatched, env, "bj", 2) == [{"type": "marker", "n": 1}]
    assert await next_of(bj, env, "bj", 3) == [{"type": "marker", "n": 2}]

    await env.tickets.dispatch(ticket.id, "complaint", env.branches["shanghai"], version=ticket.version)
    assert await env.feed.look() == 1
    gone = await next_of(bj, env, "bj", 4)
    assert gone == [{"type": "ticket_gone", "ticket_id": ticket.id, "number": ticket.number}]
    arrived = await next_of(sh, env, "sh", 4)
    assert [m["type"] for m in arrived] == ["ticket"] and arrived[0]["ticket"]["branch_id"] == env.branches["shanghai"]
    still = await next_of(lead, env, "lead", 4)
    assert [m["type"] for m in still] == ["ticket"], "the department's lead sees every branch"
    assert await env.feed.look() == 0, "nothing new"


async def test_the_engineer_gets_the_tickets_scheduled_with_them(env: Env) -> None:
    await env.feed.look()
    fixer = await env.socket("fixer")
    # the engineer must be staff of the ticket's department (and branch, or of none)
    opened = await env.tickets.open("repair", "报修", {}, customer_id=None)
    await env.tickets.dispatch(opened.id, "repair", env.branches["beijing"])
    start = opened.created_at
    await env.tickets.schedule(opened.id, start, start.replace(year=start.year + 1), env.ids["fixer"])
    assert await env.feed.look() == 1, "two events of one ticket: one message"
    got = await next_of(fixer, env, "fixer", 1)
    assert [m["event"]["kind"] for m in got] == ["scheduled"]
    assert got[0]["ticket"]["engineer_id"] == env.ids["fixer"]


async def test_nobody_watching_means_nothing_to_catch_up_on(env: Env) -> None:
    await env.feed.look()
    await env.tickets.open("complaint", "before anyone watched", {}, customer_id=None)
    assert await env.feed.look() == 0
    bj = await env.socket("bj")
    assert await env.feed.look() == 0
    assert await next_of(bj, env, "bj", 1) == []


async def test_staff_get_their_own_department_whatever_they_ask(env: Env) -> None:
    http = await env.session("sh")
    async with http.get(env.server.make_url("/api/workview?department=repair")) as response:
        assert response.status == 200
        body = await response.json()
    assert (body["department"], body["branch_id"], body["fixed"]) == ("complaint", env.branches["shanghai"], True)
    assert {e["username"] for e in body["engineers"]} == {"sh", "lead"}
    assert {b["id"] for b in body["branches"]} == set(env.branches.values())

    boss = await env.session("supervisor")
    async with boss.get(env.server.make_url("/api/workview?department=complaint")) as response:
        body = await response.json()
    assert (body["department"], body["fixed"]) == ("complaint", False)
    assert {e["username"] for e in body["engineers"]} == {"bj", "sh", "lead"}
    assert body["engineers"][0]["display_name"].startswith("<b>"), "names are data, as given"
    async with boss.get(env.server.make_url("/api/workview?department=nowhere")) as response:
        assert response.status == 400
    agent = await env.session("agent")
    async with agent.get(env.server.make_url("/api/workview")) as response:
        assert response.status == 403


async def test_a_ticket_written_here_is_pushed_at_once_not_at_the_next_interval(env: Env) -> None:
    running = asyncio.create_task(env.feed.run(3600.0))  # the interval alone would never come
    try:
        while env.feed.cursor is None:
            await asyncio.sleep(0.01)
        bj = await env.socket("bj")
        opened = await env.tickets.open("complaint", "投诉", {}, customer_id=None)
        await env.tickets.dispatch(opened.id, "complaint", env.branches["beijing"])
        message = await bj.receive_json(timeout=5)
        assert message["type"] == "ticket" and message["ticket"]["number"] == opened.number
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
