"""Each record only to those who may see it (docs/visibility.md), route by route and role by role.

The route-by-role matrix (test_route_roles.py) with objects: two agents, two branches'
engineers, a supervisor and no session, each against a record they may see and one they may
not, on every route that returns or changes a customer, ticket, call, recording, visit or
callback; and the live pushes (a visit's change, a pop's calls) the same way.

The world: ticket "a" of David Zhang (Shenzhen), opened by agent1002 on a call agent1002 took,
dispatched to the Shenzhen service centre; ticket "b" of 张伟 (Beijing), opened by agent1001 on
a call agent1001 took, dispatched to the Beijing branch. Each ticket owes a return visit;
each call has its recording; two callbacks wait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from ctiserver.callbacks.tables import Callback
from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer
from ctiserver.lab.demo import seed_demo
from ctiserver.lab.demo_dispatch import seed_demo_dispatch
from ctiserver.pops.service import _Pop
from ctiserver.recordings.tables import RecordingRow
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import upgrade_schema
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.viewers import SERVING_CALLS_KEY, SERVING_KEY
from ctiserver.users.tables import User
from ctiserver.visits.tables import Visit
from tests.unit.test_web import FAST_HASHER

PASSWORD = "a password of the objects"
USERS: tuple[str | None, ...] = ("agent1001", "agent1002", "engineer-sz", "engineer-bj", "supervisor", None)
KEYS = ("a", "b")
#: user -> the tickets (and so visits) they may see
TICKETS: dict[str, set[str]] = {
    "agent1001": {"b"}, "agent1002": {"a"}, "engineer-sz": {"a"}, "engineer-bj": {"b"}, "supervisor": {"a", "b"},
}
#: user -> the customers whose card they may open
CUSTOMERS: dict[str, set[str]] = {**TICKETS, "agent1001": {"a", "b"}, "agent1002": {"a", "b"}}
#: user -> the calls (and recordings) they see whole: agents their own
CALLS: dict[str, set[str]] = {**TICKETS, "engineer-sz": set(), "engineer-bj": set()}
#: user -> the callbacks they see
CALLBACKS: dict[str, set[str]] = {user: set() for user in TICKETS} | {"supervisor": {"a", "b"}}
#: a refusal of the record (not of the route): what each record's rule answers
HIDDEN_SAYS = (
    "not one of the tickets you may see", "not one of the customers you may see", "not one of the visits you may see",
    "not your recording", "only your own recordings",
)


@dataclass
class World:
    server: TestServer
    cti: CtiServer
    customers: dict[str, int] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)
    recordings: dict[str, str] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    branches: dict[str, int | None] = field(default_factory=dict)


async def build(tmp_path: Path) -> World:
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        recordings={"dir": str(tmp_path / "recordings")},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)  # not started: no Asterisk
    db = cti.db
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    await seed_demo_dispatch(db, PASSWORD, FAST_HASHER)
    world = World(TestServer(cti.web_app), cti)
    async with db.session() as session:
        world.users = {name: uid for uid, name in await session.execute(select(User.id, User.username))}
        for key, name in (("a", "David Zhang"), ("b", "张伟")):
            found = await session.scalar(select(Customer.id).where(Customer.name == name))
            assert found is not None
            world.customers[key] = found
    world.phones = {"a": "13728761234", "b": "13800138000"}
    tickets = TicketRepository(db)
    now = dt.datetime.now(dt.UTC)
    for key, agent in (("a", "1002"), ("b", "1001")):
        linkedid = f"17500000{agent}.1"
        world.calls[key] = linkedid
        async with db.session() as session:
            session.add(CallRow(linkedid=linkedid, caller_number=world.phones[key], started_at=now,
                                answered_at=now, ended_at=now, duration_seconds=60, queue="support",
                                agent=agent, customer_id=world.customers[key]))
            await session.commit()
        ticket = await tickets.open("repair", f"ticket {key}", {}, customer_id=world.customers[key],
                                    call_linkedid=linkedid, source="agent", user_id=world.users[f"agent{agent}"])
        world.tickets[key] = ticket.id
        world.branches[key] = ticket.branch_id
        async with db.session() as session:
            visit = Visit(ticket_id=ticket.id, completed_event_id=900000 + ticket.id,
                          customer_id=world.customers[key], number=world.phones[key], status="pending",
                          attempts=0, next_at=now, created_at=now)
            recording = RecordingRow(
                id=f"{ticket.id:032x}", call_id=linkedid, leg_uniqueid=linkedid, caller_number=world.phones[key],
                agent=agent, agent_interface=f"PJSIP/{agent}", queue="support", customer_id=world.customers[key],
                started_at=now, ended_at=now, duration=60.0, size=1000, format="wav",
                path=f"2026/01/01/{ticket.id:032x}.wav",
            )
            callback = Callback(number=world.phones[key], number_key=world.phones[key], reason="abandoned",
                                customer_id=world.customers[key], due_at=now, missed_at=now)
            session.add_all([visit, recording, callback])
            await session.commit()
            world.visits[key], world.recordings[key], world.callbacks[key] = visit.id, recording.id, callback.id
    assert world.branches["a"] != world.branches["b"] and None not in world.branches.values()
    return world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = await build(tmp_path)
    await built.server.start_server()
    try:
        yield built
    finally:
        await built.server.close()
        await built.cti.db.close()


class Client:
    def __init__(self, world: World, http: aiohttp.ClientSession) -> None:
        self.world = world
        self.http = http

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.world.server.make_url(path), json=body) as response:
            answer = await response.json() if response.content_type == "application/json" else None
            return response.status, answer


async def session_of(world: World, user: str | None) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    if user is not None:
        async with http.post(world.server.make_url("/login"), json={"username": user, "password": PASSWORD}) as login:
            assert login.status == 200, await login.text()
    return http


def refusal(status: int, answer: Any) -> str | None:
    """'login', 'role', 'hidden' for a refusal; None if the route answered."""
    if status == 401:
        return "login"
    if status == 403:
        said = answer.get("error") if isinstance(answer, dict) else None
        return "hidden" if said in HIDDEN_SAYS or (said or "").startswith(HIDDEN_SAYS) else "role"
    return None


Probe = Callable[[Client, str], Awaitable[str]]


def one(method: str, path: Callable[[World, str], str], body: Callable[[World, str], Any] = lambda w, k: None) -> Probe:
    """A route of one record: 'seen' unless refused (its record's 403, the route's, or no login)."""
    async def probe(client: Client, key: str) -> str:
        status, answer = await client.call(method, path(client.world, key), body(client.world, key))
        assert status != 500, answer
        if status == 403 and answer.get("code") == "ticket_move_forbidden":
            return "seen"  # the ticket passed its rule; the move is not the role's (tested below)
        return refusal(status, answer) or "seen"
    return probe


def listed(path: Callable[[World, str], str], items: str, ids: Callable[[World], dict[str, Any]],
           item_id: str = "id") -> Probe:
    """A list: 'seen' if the record is among its items, 'hidden' if not."""
    async def probe(client: Client, key: str) -> str:
        status, answer = await client.call("GET", path(client.world, key))
        refused = refusal(status, answer)
        if refused is not None:
            return refused
        assert status == 200, answer
        return "seen" if ids(client.world)[key] in [item[item_id] for item in answer[items]] else "hidden"
    return probe


def in_card(path: Callable[[World, str], str], many: bool) -> Probe:
    """The ticket on its customer's card (``GET /api/customers/{id}``, the phone search)."""
    async def probe(client: Client, key: str) -> str:
        status, answer = await client.call("GET", path(client.world, key))
        refused = refusal(status, answer)
        if refused is not None:
            return "hidden" if refused == "hidden" else refused
        cards = answer["customers"] if many else [answer["customer"]]
        shown = [t["id"] for card in cards for t in card["open_tickets"]]
        return "seen" if client.world.tickets[key] in shown else "hidden"
    return probe


def in_history(part: str) -> Probe:
    """The ticket, or the call whole (with its agent), in its customer's history."""
    async def probe(client: Client, key: str) -> str:
        world = client.world
        status, answer = await client.call("GET", f"/api/customers/{world.customers[key]}/history")
        refused = refusal(status, answer)
        if refused is not None:
            return "hidden" if refused == "hidden" else refused
        if part == "tickets":
            return "seen" if world.tickets[key] in [t["id"] for t in answer["tickets"]] else "hidden"
        calls = {c["id"]: c for c in answer["calls"]}
        whole = calls.get(world.calls[key], {}).get("agent") is not None
        return "seen" if whole else "hidden"
    return probe


def customer_card(client: Client, key: str) -> Awaitable[str]:
    return one("GET", lambda w, k: f"/api/customers/{w.customers[k]}")(client, key)


T = "/api/tickets/{}"
#: the desk's routes (visits, recordings): agents and supervisors
DESK = frozenset({"agent1001", "agent1002", "supervisor"})
ROUTES: list[tuple[str, Probe, dict[str, set[str]], frozenset[str]]] = [
    # (what, probe, who sees which record, the roles the route is for)
    ("GET /api/tickets/{id}", one("GET", lambda w, k: T.format(w.tickets[k])), TICKETS, frozenset(TICKETS)),
    ("GET /api/tickets", listed(lambda w, k: "/api/tickets", "tickets", lambda w: w.tickets), TICKETS,
     frozenset(TICKETS)),
    ("GET /api/tickets?customer_id=", listed(lambda w, k: f"/api/tickets?customer_id={w.customers[k]}", "tickets",
                                             lambda w: w.tickets), TICKETS, frozenset(TICKETS)),
    ("PATCH /api/tickets/{id}", one("PATCH", lambda w, k: T.format(w.tickets[k]),
                                    lambda w, k: {"fields": {"serial": "SN1"}}), TICKETS, frozenset(TICKETS)),
    ("POST /api/tickets/{id}/notes", one("POST", lambda w, k: T.format(w.tickets[k]) + "/notes",
                                         lambda w, k: {"note": "a note"}), TICKETS, frozenset(TICKETS)),
    ("POST /api/tickets/{id}/dispatch", one("POST", lambda w, k: T.format(w.tickets[k]) + "/dispatch",
                                            lambda w, k: {"department": "repair", "branch_id": w.branches[k]}),
     TICKETS, frozenset({"engineer-sz", "engineer-bj", "supervisor"})),
    ("POST /api/tickets/{id}/status", one("POST", lambda w, k: T.format(w.tickets[k]) + "/status",
                                          lambda w, k: {"status": "waiting_parts"}), TICKETS, frozenset(TICKETS)),
    ("GET /api/tickets/{id}/notices", one("GET", lambda w, k: T.format(w.tickets[k]) + "/notices"), TICKETS,
     frozenset(TICKETS)),
    ("POST /api/tickets/{id}/schedule", one("POST", lambda w, k: T.format(w.tickets[k]) + "/schedule", lambda w, k: {
        "start": "2030-01-01T09:00:00+08:00", "end": "2030-01-01T10:00:00+08:00"}), TICKETS, frozenset(TICKETS)),
    ("GET /api/customers/{id}", customer_card, CUSTOMERS, frozenset(TICKETS)),
    ("the ticket on GET /api/customers/{id}", in_card(lambda w, k: f"/api/customers/{w.customers[k]}", False),
     TICKETS, frozenset(TICKETS)),
    ("the ticket on GET /api/customers?phone=", in_card(lambda w, k: f"/api/customers?phone={w.phones[k]}", True),
     TICKETS, frozenset(TICKETS)),
    ("GET /api/customers?phone=", listed(lambda w, k: f"/api/customers?phone={w.phones[k]}", "customers",
                                         lambda w: w.customers), CUSTOMERS, frozenset(TICKETS)),
    # the desk's customer search, by each thing a caller says: a phone in another form, the name, a
    # ticket's number (a customer the staff may not see is left out, and so are tickets one may not see)
    ("GET /api/customers/search", listed(lambda w, k: f"/api/customers/search?q=%2B86%20{w.phones[k]}", "customers",
                                         lambda w: w.customers), CUSTOMERS, frozenset(TICKETS)),
    ("GET /api/customers/search?q=name", listed(lambda w, k: "/api/customers/search?q=" + {"a": "David", "b": "张伟"}[k],
                                                "customers", lambda w: w.customers), CUSTOMERS, frozenset(TICKETS)),
    ("the ticket on GET /api/customers/search", in_card(lambda w, k: f"/api/customers/search?q={w.phones[k]}", True),
     TICKETS, frozenset(TICKETS)),
    ("PATCH /api/customers/{id}", one("PATCH", lambda w, k: f"/api/customers/{w.customers[k]}",
                                      lambda w, k: {"district": "新区"}), CUSTOMERS, DESK),
    ("the ticket in GET /api/customers/{id}/history", in_history("tickets"), TICKETS, frozenset(TICKETS)),
    ("the call whole in GET /api/customers/{id}/history", in_history("calls"), CALLS, frozenset(TICKETS)),
    ("GET /api/calls?state=ended", listed(lambda w, k: "/api/calls?state=ended", "calls", lambda w: w.calls),
     CALLS, frozenset({"supervisor"})),
    ("GET /api/visits", listed(lambda w, k: "/api/visits", "visits", lambda w: w.visits), TICKETS,
     DESK),
    ("GET /api/visits?ticket_id=", listed(lambda w, k: f"/api/visits?ticket_id={w.tickets[k]}", "visits",
                                          lambda w: w.visits), TICKETS, DESK),
    ("POST /api/visits/{id}/call", one("POST", lambda w, k: f"/api/visits/{w.visits[k]}/call"), TICKETS,
     DESK),
    ("POST /api/visits/{id}/result", one("POST", lambda w, k: f"/api/visits/{w.visits[k]}/result",
                                         lambda w, k: {"score": 1}), TICKETS,
     DESK),
    ("GET /api/recordings", listed(lambda w, k: "/api/recordings", "recordings", lambda w: w.recordings), CALLS,
     DESK),
    ("GET /api/recordings?customer_id=", listed(lambda w, k: f"/api/recordings?customer_id={w.customers[k]}",
                                                "recordings", lambda w: w.recordings), CALLS,
     DESK),
    ("GET /api/recordings/{id}/waveform", one("GET", lambda w, k: f"/api/recordings/{w.recordings[k]}/waveform"),
     CALLS, DESK),
    ("GET /api/recordings/{id}/audio", one("GET", lambda w, k: f"/api/recordings/{w.recordings[k]}/audio"),
     CALLS, DESK),
    ("POST /api/recordings/{id}/hold", one("POST", lambda w, k: f"/api/recordings/{w.recordings[k]}/hold",
                                           lambda w, k: {"hold": True}), CALLS, frozenset({"supervisor"})),
    ("GET /api/callbacks", listed(lambda w, k: "/api/callbacks", "callbacks", lambda w: w.callbacks), CALLBACKS,
     frozenset({"supervisor"})),
    ("POST /api/callbacks/{id}/reassign", one("POST", lambda w, k: f"/api/callbacks/{w.callbacks[k]}/reassign",
                                              lambda w, k: {"queue": "support"}), CALLBACKS, frozenset({"supervisor"})),
    ("POST /api/callbacks/{id}/cancel", one("POST", lambda w, k: f"/api/callbacks/{w.callbacks[k]}/cancel"),
     CALLBACKS, frozenset({"supervisor"})),
]


def expected(user: str | None, key: str, sees: dict[str, set[str]], roles: frozenset[str]) -> str:
    if user is None:
        return "login"
    if user not in roles:
        return "role"
    return "seen" if key in sees[user] else "hidden"


async def test_every_route_of_a_record_against_every_user_and_record(world: World) -> None:
    """Each user against a record they may see and one they may not, on every route of it."""
    problems = []
    for user in USERS:
        http = await session_of(world, user)
        client = Client(world, http)
        try:
            for what, probe, sees, roles in ROUTES:
                for key in KEYS:
                    got = await probe(client, key)
                    want = expected(user, key, sees, roles)
                    if got != want:
                        problems.append(f"{what} of record {key} as {user or 'nobody'}: {got}, not {want}")
        finally:
            await http.close()
    assert problems == [], "\n".join(problems)


async def test_each_user_sees_a_record_and_misses_another(world: World) -> None:
    """The matrix is not empty on either side: every user but the supervisor has a ticket
    they may see and one they may not; the supervisor sees both."""
    for user, seen in TICKETS.items():
        assert seen, user
        assert user == "supervisor" or set(KEYS) - seen, user


async def test_an_agent_sees_the_other_agents_calls_of_a_customer_as_contact_summaries(world: World) -> None:
    http = await session_of(world, "agent1001")
    try:
        status, answer = await Client(world, http).call("GET", f"/api/customers/{world.customers['a']}/history")
    finally:
        await http.close()
    assert status == 200 and answer["tickets"] == []
    (call,) = answer["calls"]
    assert call["id"] == world.calls["a"] and call["agent"] is None
    assert (call["queue"], call["duration"], call["answered_at"] is not None) == ("support", 60.0, True)


async def test_the_customers_of_the_call_at_an_agents_desk_are_theirs_while_it_lasts(world: World) -> None:
    """agent1001 is rung by David Zhang: his ticket shows on the card, the history and its own route
    (the screen pop's cards say who is at the agent's desk)."""
    assert world.cti.web_app[SERVING_KEY] == world.cti.pops.customers_on_desk
    assert world.cti.web_app[SERVING_CALLS_KEY] == world.cti.pops.calls_on_desk
    pops = world.cti.pops._pops
    http = await session_of(world, "agent1001")
    client = Client(world, http)
    ticket, customer = world.tickets["a"], world.customers["a"]
    # the IVR's ticket of a caller it did not know, opened on the call now ringing at the desk
    nameless = (await TicketRepository(world.cti.db).open("inquiry", "无名来电", {}, customer_id=None,
                                                          call_linkedid="1.1", source="ivr")).id
    try:
        assert (await client.call("GET", T.format(ticket)))[0] == 403
        assert (await client.call("GET", T.format(nameless)))[0] == 403
        pops["PJSIP/1001"] = _Pop(world.users["agent1001"], "PJSIP/1001", "1.1", {"customers": [{"id": customer}]})
        assert (await client.call("GET", T.format(ticket)))[0] == 200
        assert (await client.call("GET", T.format(nameless)))[0] == 200
        status, answer = await client.call("GET", f"/api/customers/{customer}")
        assert status == 200 and [t["id"] for t in answer["customer"]["open_tickets"]] == [ticket]
        status, answer = await client.call("GET", f"/api/customers/{customer}/history")
        assert status == 200 and [t["id"] for t in answer["tickets"]] == [ticket]
        pops.clear()  # the call ended
        assert (await client.call("GET", T.format(ticket)))[0] == 403
        assert (await client.call("GET", T.format(nameless)))[0] == 403
    finally:
        await http.close()


#: routes of these records that show or change no existing record of them, and why
NOT_OF_A_RECORD = {
    ("POST", "/api/tickets"): "opens a new ticket (its customer and product must exist: 422)",
    ("POST", "/api/customers"): "adds a new customer",
    ("POST", "/api/agent/recording"): "pauses the recording of the user's own call",
    ("GET", "/api/customers/{id}/sms-opt-out"): "the desk's, who see every customer (the matrix)",
    ("PUT", "/api/customers/{id}/sms-opt-out"): "the desk's, who see every customer (the matrix)",
    ("GET", "/api/export/customers.csv"): "supervisors only, who see every record (the matrix)",
    ("GET", "/api/export/tickets.csv"): "supervisors only, who see every record (the matrix)",
    ("GET", "/api/export/calls.csv"): "supervisors only, who see every record (the matrix)",
    ("GET", "/api/export/customers.xlsx"): "supervisors only, who see every record (the matrix)",
    ("GET", "/api/export/tickets.xlsx"): "supervisors only, who see every record (the matrix)",
    ("GET", "/api/export/calls.xlsx"): "supervisors only, who see every record (the matrix)",
}
RECORD_PATHS = ("/api/tickets", "/api/customers", "/api/calls", "/api/recordings", "/api/visits", "/api/callbacks",
                "/api/agent/recording", "/api/export/")


def test_every_route_of_a_record_is_in_the_table() -> None:
    """A route added for one of these records without a line in ROUTES fails here."""
    from tests.unit.test_route_roles import MATRIX

    of_records = {key for key in MATRIX if key[1].startswith(RECORD_PATHS)}
    probed = set()
    for what, *_ in ROUTES:
        method, path = what.split(" /", 1)[0].split()[-1], "/" + what.split(" /", 1)[1].split("?")[0]
        probed.add((method, path))
    assert of_records - set(NOT_OF_A_RECORD) == probed
