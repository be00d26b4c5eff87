"""Ticket events delivered to a real HTTP receiver (a local aiohttp server that verifies the
signatures) by the real deliverer, store and tickets on a real SQLite database: each event
once, signed, in order; a receiver down then back gets what it missed; a deliverer cancelled
mid-request resumes from its cursor; ``GET /api/webhooks`` and ``/healthz`` show the state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ctiserver.server import CtiServer
from ctiserver.settings import Settings, WebhookEndpoint
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.supervision import SupervisedTask
from ctiserver.tickets import EventFeed, bus_of
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from ctiserver.webhooks.deliverer import Deliverer
from ctiserver.webhooks.store import WebhookStore
from tests.webhook_receiver import Receiver

SECRET = "a webhook secret of the tests"
#: the feed's safety look
FAST = 0.2


def endpoint(receiver: Receiver, **changes: object) -> WebhookEndpoint:
    values: dict[str, object] = {
        "name": "erp", "url": receiver.url, "secret": SECRET, "kinds": ("created", "note"),
        "timeout": 2.0, "backoff_min": 0.1, "backoff_max": 0.4, **changes,
    }
    return WebhookEndpoint(**values)  # type: ignore[arg-type]


async def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.02)
    assert check(), what


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    database = Database(url)
    yield database
    await database.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver(SECRET)
    await running.start()
    yield running
    running.release.set()
    await running.stop()


Start = Callable[[WebhookEndpoint], Awaitable[asyncio.Task[None]]]


@pytest.fixture
async def start(db: Database) -> AsyncIterator[Start]:
    tasks: list[asyncio.Task[None]] = []

    async def run(where: WebhookEndpoint) -> asyncio.Task[None]:
        deliverer = Deliverer(where, WebhookStore(db), EventFeed(db, bus_of(db), interval=FAST))
        task = asyncio.create_task(SupervisedTask("webhook", deliverer.run_forever, first_delay=0.1).run_forever())
        tasks.append(task)
        await asyncio.sleep(0.3)  # its cursor is made
        return task

    yield run
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def write_events(tickets: TicketRepository, count: int) -> list[int]:
    """``count`` tickets, each created then given a note; the ids of those 2 * count events
    (a ticket opened where dispatch rules exist is also "dispatched", an event the endpoint
    passes over)."""
    for n in range(count):
        ticket = await tickets.open("repair", f"空调不制冷 {n}", {}, customer_id=None, source="agent")
        await tickets.add_note(ticket.id, f"<script>note {n}</script>")
    return [e.id for t in range(1, count + 100) for e in await tickets.events(t) if e.kind in ("created", "note")]


async def test_each_event_is_delivered_once_signed_and_in_order(
    db: Database, receiver: Receiver, start: Start
) -> None:
    tickets = TicketRepository(db)
    before = await tickets.open("complaint", "written before the endpoint existed", {}, customer_id=None)
    await start(endpoint(receiver))
    ids = [i for i in await write_events(tickets, 5) if i > before.id]
    await eventually(lambda: len(receiver.delivered()) >= 10, 10, "every event delivered")
    await asyncio.sleep(0.5)  # a double would show by now
    assert receiver.bad_signatures == 0
    assert receiver.event_ids() == ids, "each once, in id order, none from before the endpoint"
    assert receiver.delivered() == [f"erp-{i}" for i in ids]
    first = receiver.requests[0]
    assert first.kind == "created" and first.body["event"]["kind"] == "created"
    assert first.body["ticket"]["number"].startswith("R") and first.body["ticket"]["department"]
    assert receiver.requests[1].body["event"]["note"] == "<script>note 0</script>"
    attempts = await WebhookStore(db).attempts("erp")
    assert [a.status_code for a in attempts] == [200] * 10


async def test_kinds_not_taken_are_passed_and_the_cursor_moves_over_them(
    db: Database, receiver: Receiver, start: Start
) -> None:
    await start(endpoint(receiver, kinds=("created",)))
    tickets = TicketRepository(db)
    await write_events(tickets, 3)
    await eventually(lambda: len(receiver.delivered()) >= 3, 10, "the created events")
    assert [r.kind for r in receiver.requests] == ["created"] * 3
    store = WebhookStore(db)

    async def cursor() -> int | None:
        return (await store.state("erp", ("created",))).last_event_id

    last = max([e.id for t in (1, 2, 3) for e in await tickets.events(t)])
    async with asyncio.timeout(5):
        while await cursor() != last:
            await asyncio.sleep(0.05)


async def test_a_receiver_down_then_back_gets_every_event_it_missed_in_order(
    db: Database, receiver: Receiver, start: Start
) -> None:
    tickets = TicketRepository(db)
    await start(endpoint(receiver))
    receiver.status = 503
    ids = await write_events(tickets, 2)
    await eventually(lambda: len(receiver.requests) >= 3, 10, "retries while it answers 503")
    await receiver.stop()  # and then not there at all
    ids += await write_events(tickets, 2)
    await asyncio.sleep(1.0)
    attempts = await WebhookStore(db).attempts("erp")
    assert {a.status_code for a in attempts} >= {503, None}
    assert any(a.error and "Connect" in a.error for a in attempts)
    assert all(a.event_id == ids[0] for a in attempts), "never past the first undelivered event"
    receiver.status = 200
    await receiver.start()
    ids = sorted(set(ids))
    await eventually(lambda: len(receiver.delivered()) >= len(ids), 10, "the missed events")
    await asyncio.sleep(0.5)
    assert receiver.event_ids() == ids


async def test_a_deliverer_cancelled_mid_request_resumes_from_its_cursor(
    db: Database, receiver: Receiver, start: Start
) -> None:
    tickets = TicketRepository(db)
    task = await start(endpoint(receiver))
    receiver.hold_request = 4  # the second ticket's note
    ids = await write_events(tickets, 3)
    assert len(ids) == 6
    await asyncio.wait_for(receiver.held.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    receiver.release.set()
    receiver.hold_request = None
    await start(endpoint(receiver))
    await eventually(lambda: len(receiver.delivered()) >= len(ids), 10, "the rest after the restart")
    await asyncio.sleep(0.5)
    assert receiver.event_ids() == ids, "nothing lost, nothing answered 2xx sent twice"
    sent = [r.body["event"]["id"] for r in receiver.requests]
    assert receiver.held_id == ids[3]
    assert sent.count(ids[3]) == 2, "the one in flight (never answered) was sent again"


async def test_the_admin_list_and_the_health_check_show_a_stuck_endpoint(tmp_path: Path) -> None:
    closed = Receiver(SECRET)  # never started: connection refused
    settings = Settings().replace(database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"})
    settings = settings.replace(webhooks={"endpoints": (endpoint(closed, kinds=("created",)),), "stuck_after": 0.5})
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)
    await UserRepository(cti.db).add("admin", "a password", "admin")
    deliverer = cti.webhooks[0]
    store = WebhookStore(cti.db)
    await deliverer.consumer.prepare()
    await TicketRepository(cti.db).open("repair", "no cold air", {}, customer_id=None)
    async with aiohttp.ClientSession() as http:
        assert await deliverer.step(http) is not None
    server = TestServer(cti.web_app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await http.post(server.make_url("/login"), json={"username": "admin", "password": "a password"})
            assert login.status == 200
            listed = await (await http.get(server.make_url("/api/webhooks"))).json()
            (shown,) = listed["endpoints"]
            assert shown["name"] == "erp" and shown["url"] == f"http://127.0.0.1:{closed.port}/hook"
            assert shown["backlog"] == 1 and shown["failures"] == 1 and shown["cursor"] == 0
            assert shown["last_attempt"]["status_code"] is None and shown["last_attempt"]["error"]
            await asyncio.sleep(0.6)
            health = await (await http.get(server.make_url("/healthz"))).json()
            assert health["status"] == "degraded"
            assert health["checks"]["webhooks"]["stuck"] == ["erp"]
            assert (await (await http.get(server.make_url("/api/webhooks"))).json())["endpoints"][0]["stuck"]
    finally:
        await server.close()
        await cti.db.close()
