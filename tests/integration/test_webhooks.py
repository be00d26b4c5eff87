"""Webhook delivery across a crash and across servers, with real processes and a real
HTTP receiver: the delivering process killed (SIGKILL) while a request is in flight, then
started again, resumes from its cursor (nothing lost, nothing answered 2xx sent again); two
delivering processes on one PostgreSQL send each event exactly once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ctiserver.settings import Settings, WebhookEndpoint
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import TicketEvent
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.processes import Processes, processes  # noqa: F401  (fixture)
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

SECRET = "a webhook secret of the crash tests"
KINDS = ("created", "note")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver(SECRET)
    await running.start()
    yield running
    running.release.set()
    await running.stop()


def settings_for(url: str, receiver: Receiver) -> Settings:
    hook = WebhookEndpoint(
        name="erp", url=receiver.url, secret=SECRET, kinds=KINDS, timeout=5.0,
        backoff_min=0.1, backoff_max=0.5,
    )
    return Settings().replace(
        database={"url": url},
        webhooks={"endpoints": (hook,)}, tickets={"feed_interval": 0.1},
    )


async def write_events(tickets: TicketRepository, count: int) -> None:
    for n in range(count):
        ticket = await tickets.open("repair", f"洗衣机漏水 {n}", {}, customer_id=None, source="agent")
        await tickets.add_note(ticket.id, f"note {n}")


async def taken_ids(db: Database) -> list[int]:
    """The ids of the events the endpoint takes (a ticket opened on a database with dispatch
    rules also writes a "dispatched" event, which it passes over), in id order."""
    async with db.session() as session:
        rows = await session.scalars(
            select(TicketEvent.id).where(TicketEvent.kind.in_(KINDS)).order_by(TicketEvent.id)
        )
        return list(rows)


async def wait_for(check: object, seconds: float, what: str) -> None:
    assert callable(check)
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.05)


async def test_a_deliverer_killed_mid_request_resumes_from_its_cursor(
    tmp_path: Path, receiver: Receiver,
    processes: Processes,  # noqa: F811  (the imported fixture)
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    settings = settings_for(url, receiver)
    db = Database(url)
    try:
        tickets = TicketRepository(db)
        first = await processes.webhooks(settings, "first")
        receiver.hold_request = 6  # the third ticket's note
        await write_events(tickets, 5)
        await asyncio.wait_for(receiver.held.wait(), 20)
        first.kill()  # the request for event 6 is in flight, never to be answered
        await asyncio.sleep(0.5)  # the receiver sees the connection gone (it records no answer)
        receiver.release.set()
        receiver.hold_request = None
        await write_events(tickets, 5)  # written while no deliverer runs
        await processes.webhooks(settings, "again")
        await wait_for(lambda: len(receiver.delivered()) >= 20, 30, "every event after the restart")
        await asyncio.sleep(1.0)  # a double would show by now
        expected = await taken_ids(db)
    finally:
        await db.close()
    assert receiver.bad_signatures == 0
    assert len(expected) == 20
    assert receiver.event_ids() == expected, "each answered once, in order, none lost"
    sent = [r.body["event"]["id"] for r in receiver.requests]
    assert receiver.held_id == expected[5]
    assert sent.count(expected[5]) == 2, "the request in flight when the process died was sent again"
    assert len(sent) == 21


async def test_two_deliverers_on_one_postgres_send_each_event_exactly_once(
    tmp_path: Path, receiver: Receiver, processes: Processes,  # noqa: F811  (the imported fixture)
    postgres_server: PostgresServer,  # noqa: F811  (the imported fixture)
) -> None:
    url = await postgres_server.create_database("ctiserver_webhooks_two")
    await upgrade_schema(url)
    settings = settings_for(url, receiver)
    receiver.delay = 0.02  # each request in flight a while: the other deliverer finds the claim held
    for name in ("a", "b"):
        await processes.webhooks(settings, name)
    db = Database(url)
    try:
        tickets = TicketRepository(db)
        writers = [write_events(tickets, 10) for _ in range(3)]  # concurrent transactions: ids may commit out of order
        await asyncio.gather(*writers)
        await wait_for(lambda: len(receiver.delivered()) >= 60, 60, "all 60 events")
        await asyncio.sleep(1.0)
        expected = await taken_ids(db)
    finally:
        await db.close()
    assert receiver.bad_signatures == 0
    assert len(expected) == 60
    assert receiver.event_ids() == expected, "each exactly once, in id order"
    assert len(receiver.requests) == 60, "no event sent twice by the two processes"
