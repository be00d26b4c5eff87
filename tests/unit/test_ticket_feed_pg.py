"""The ticket-event feed on a real PostgreSQL, where ids are handed out before commit: two
tickets completed on two connections, the lower event id's transaction held open while the
higher one commits and the feed's consumers run (longer than the feed's grace for a gap);
the return visits and a webhook endpoint act on neither past the gap meanwhile, and on both
once the lower one commits: a visit each, each event delivered once, in id order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ctiserver.settings import WebhookEndpoint
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets import EventFeed
from ctiserver.tickets.store import TicketRepository
from ctiserver.visits.service import VisitService
from ctiserver.visits.store import VisitRepository
from ctiserver.webhooks.deliverer import Deliverer, DeliveryOutcome
from ctiserver.webhooks.store import WebhookStore
from tests.pg import PostgresServer, postgres_server
from tests.webhook_receiver import Receiver

__all__ = ["postgres_server"]

SECRET = "a webhook secret of the feed test"
GRACE = 0.2


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver(SECRET)
    await running.start()
    yield running
    await running.stop()


async def complete(conn: AsyncConnection, ticket_id: int) -> int:
    """The ticket completed, its ``completed`` event written, in ``conn``'s open transaction;
    the event's id."""
    await conn.execute(text("UPDATE tickets SET status = 'completed', version = version + 1 WHERE id = :id"),
                       {"id": ticket_id})
    return int((await conn.execute(text(
        "INSERT INTO ticket_events (ticket_id, at, kind, from_status, status, actor, payload)"
        " VALUES (:id, now(), 'completed', 'in_progress', 'completed', 'engineer', CAST('{}' AS json))"
        " RETURNING id"
    ), {"id": ticket_id})).scalar_one())


async def test_an_id_committed_after_a_higher_one_reaches_the_visits_and_a_webhook(
    postgres_server: PostgresServer, receiver: Receiver,
) -> None:
    url = await postgres_server.create_database("ticket_feed_order")
    await upgrade_schema(url)
    db = Database(url)
    try:
        tickets = TicketRepository(db)
        working = []
        for n in range(2):
            opened = await tickets.open("repair", f"空调不制冷 {n}", {"caller_number": f"1380013800{n}"},
                                        customer_id=None, source="agent")
            if opened.status == "new":
                opened = await tickets.dispatch(opened.id, "repair", None)
            working.append(await tickets.move(opened.id, "in_progress"))
        feed = EventFeed(db, interval=0.1, gap_grace=GRACE)
        visits = VisitService(db, VisitRepository(db), tickets, feed, clock=time.time)
        hook = WebhookEndpoint(name="erp", url=receiver.url, secret=SECRET, kinds=("completed",), timeout=5.0)
        deliverer = Deliverer(hook, WebhookStore(db), feed)
        await deliverer.consumer.prepare()
        assert await visits.feed() == 0

        async with aiohttp.ClientSession() as http:

            async def run_the_feed(seconds: float) -> None:
                """Both consumers look again and again, as their tasks would."""
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    await visits.feed()
                    while await deliverer.step(http) in (DeliveryOutcome.DELIVERED, DeliveryOutcome.PASSED):
                        pass
                    await asyncio.sleep(0.05)

            async with db.engine.connect() as low, db.engine.connect() as high:
                low_id = await complete(low, working[0].id)
                high_id = await complete(high, working[1].id)
                await high.commit()
                assert low_id < high_id
                await run_the_feed(GRACE * 5)  # the lower one still uncommitted, well past the grace
                assert await visits.store.search() == [], "nothing past the id that may still commit"
                assert receiver.requests == []
                assert (await visits.cursor()) < low_id and (await deliverer.consumer.cursor() or 0) < low_id
                await low.commit()
            async with asyncio.timeout(30):
                while len(await visits.store.search()) < 2 or len(receiver.delivered()) < 2:
                    await run_the_feed(0.1)
            await run_the_feed(0.5)  # a double would show by now

        made = await visits.store.search()
        assert sorted(v.ticket_id for v in made) == [working[0].id, working[1].id], "one visit per completion"
        assert receiver.event_ids() == [low_id, high_id], "each delivered once, in id order"
        assert receiver.bad_signatures == 0
        for ticket in working:
            moved = await tickets.get(ticket.id)
            assert moved is not None and moved.status == "return_visit"
        assert await visits.cursor() >= high_id and (await deliverer.consumer.cursor() or 0) >= high_id
    finally:
        await db.close()
