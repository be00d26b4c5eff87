"""The ticket-event feed: its gap handling (pure), named consumers with their own durable
cursors on a real SQLite database (each acts on every event; a failed handler is handed the
event again; other kinds are passed over), its wake-ups (this process's bus, the hook for
other servers), and migration 0017 carrying the old webhook and visits cursors over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ctiserver.storage.database import Database, alembic_config
from ctiserver.tickets import EventFeed, bus_of, feed_position
from ctiserver.tickets.infos import TicketEventInfo
from ctiserver.tickets.model.gaps import Gaps, Horizon, has_gap
from ctiserver.tickets.store import TicketRepository


async def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = alembic_config(url)

    def run(connection: Connection, cfg: Config) -> None:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run, config)
    finally:
        await engine.dispose()


def test_ids_that_run_on_from_the_cursor_are_all_passable() -> None:
    gaps = Gaps(grace=1.0)
    assert not has_gap(10, [11, 12, 13]) and not has_gap(10, [])
    assert gaps.passable(10, [11, 12, 13], now=0.0, horizon=Horizon(5, 9)) == 3
    assert gaps.passable(10, [], now=0.0, horizon=None) == 0
    assert not gaps.waiting()


def test_on_sqlite_a_gap_below_a_committed_id_is_final_at_once() -> None:
    gaps = Gaps(grace=1.0)
    assert has_gap(10, [11, 13])
    assert gaps.passable(10, [11, 13, 14], now=0.0, horizon=None) == 3, "one writer at a time"
    assert not gaps.waiting()


def test_on_postgres_a_gap_waits_for_every_transaction_running_when_it_was_seen() -> None:
    gaps = Gaps(grace=1.0)
    # 12 missing: its transaction may still be running (xids 100..109 may be; 110 is the next)
    assert gaps.passable(10, [11, 13, 14], now=100.0, horizon=Horizon(100, 110)) == 1
    assert gaps.waiting()
    assert gaps.passable(10, [11, 13, 14], now=500.0, horizon=Horizon(109, 130)) == 1, (
        "however long it takes: a transaction of then still runs")
    assert gaps.passable(10, [11, 12, 13, 14], now=500.5, horizon=Horizon(109, 130)) == 4, "12 committed after all"
    gaps = Gaps(grace=1.0)
    assert gaps.passable(10, [13], now=100.0, horizon=Horizon(100, 110)) == 0
    assert gaps.passable(10, [13], now=100.5, horizon=Horizon(110, 111)) == 0, "held for the grace at least"
    assert gaps.passable(10, [13], now=101.0, horizon=Horizon(110, 111)) == 1, "all of then ended: rolled back"
    assert gaps.passable(13, [14], now=101.0, horizon=None) == 1
    assert not gaps.waiting(), "gaps behind the cursor are forgotten"


def test_a_later_gap_is_waited_for_from_when_it_was_seen() -> None:
    gaps = Gaps(grace=0.0)
    assert gaps.passable(10, [11, 13, 15], now=0.0, horizon=Horizon(100, 110)) == 1
    # 12 settled; 14 first seen now, with the transactions running now
    assert gaps.passable(10, [11, 13, 15], now=1.0, horizon=Horizon(110, 120)) == 2
    assert gaps.passable(10, [11, 13, 15], now=2.0, horizon=Horizon(119, 125)) == 2
    assert gaps.passable(10, [11, 13, 15], now=3.0, horizon=Horizon(120, 125)) == 3


async def _opened(tickets: TicketRepository, count: int) -> list[int]:
    ids: list[int] = []
    for n in range(count):
        ticket = await tickets.open("repair", f"冰箱不制冷 {n}", {}, customer_id=None, source="agent")
        ids += [event.id for event in await tickets.events(ticket.id)]
    return ids


async def test_each_named_consumer_acts_on_every_event_with_its_own_cursor(db: Database) -> None:
    tickets = TicketRepository(db)
    before = await _opened(tickets, 1)
    feed = EventFeed(db)
    seen: dict[str, list[int]] = {"erp": [], "sms": []}

    async def erp(event: TicketEventInfo) -> None:
        seen["erp"].append(event.id)

    async def sms(event: TicketEventInfo) -> None:
        seen["sms"].append(event.id)

    everything = feed.consumer("everything", start="beginning")
    fresh = feed.consumer("fresh")
    assert await fresh.prepare() == before[-1], "a new consumer starts after the last event"
    ids = await _opened(tickets, 3)
    assert await everything.step(erp) == len(before + ids)
    assert await fresh.step(sms) == len(ids)
    assert seen == {"erp": before + ids, "sms": ids}
    assert await everything.step(erp) == 0 and await fresh.step(sms) == 0
    position = await feed_position(db, "fresh")
    assert position is not None and position.last_event_id == ids[-1]
    again = EventFeed(db).consumer("fresh", start="beginning")
    assert await again.step(sms) == 0, "the cursor is durable: a restart acts on nothing twice"


async def test_a_failing_handler_is_handed_the_event_again_and_nothing_after_it_is_lost(db: Database) -> None:
    tickets = TicketRepository(db)
    feed = EventFeed(db)
    consumer = feed.consumer("flaky", start="beginning")
    ids = await _opened(tickets, 3)
    acted: list[int] = []
    broken = {ids[1]}

    async def handle(event: TicketEventInfo) -> None:
        if event.id in broken:
            raise RuntimeError("the receiver is down")
        acted.append(event.id)

    with pytest.raises(RuntimeError):
        await consumer.step(handle)
    assert acted == ids[:1]
    assert await consumer.cursor() == ids[0], "moved over what succeeded only"
    broken.clear()
    assert await consumer.step(handle) == len(ids) - 1
    assert acted == ids, "at least once, in order, none skipped"


async def test_kinds_not_taken_are_passed_over_and_the_cursor_moves(db: Database) -> None:
    tickets = TicketRepository(db)
    consumer = EventFeed(db).consumer("notes", start="beginning", kinds=("note",))
    opened = await tickets.open("repair", "洗衣机漏水", {}, customer_id=None, source="agent")
    note = await tickets.add_note(opened.id, "客户下午在家")
    acted: list[str] = []

    async def handle(event: TicketEventInfo) -> None:
        acted.append(event.kind)

    assert await consumer.step(handle) == 1
    assert acted == ["note"]
    history = await tickets.events(note.id)
    assert await consumer.cursor() == history[-1].id


async def test_a_commit_here_wakes_the_consumers_and_the_hook_wakes_every_follower(db: Database) -> None:
    feed = EventFeed(db, bus_of(db), interval=3600.0)
    consumer = feed.consumer("visits-like")
    live = feed.live()
    await consumer.prepare()
    waiting = asyncio.create_task(consumer.wait())
    await asyncio.sleep(0)
    await TicketRepository(db).open("repair", "热水器不出热水", {}, customer_id=None)
    assert await asyncio.wait_for(waiting, 5), "woken by the bus, not the hour-long interval"
    assert not live.woken(), "a live follower has the commit from the bus itself"
    feed.wake()  # what a LISTEN/NOTIFY from another server calls
    assert await asyncio.wait_for(consumer.wait(), 5) and await asyncio.wait_for(live.wait(), 5)
    assert not await consumer.wait(0.01), "a wake-up is used once"
    feed.close()


async def test_the_live_follower_starts_at_the_end_and_reads_on(db: Database) -> None:
    tickets = TicketRepository(db)
    await _opened(tickets, 1)
    live = EventFeed(db).live()
    assert await live.events() == [] and live.cursor is None
    await live.skip_to_end()
    ids = await _opened(tickets, 2)
    events = await live.events()
    assert [e.id for e in events] == ids
    live.advance(events[-1].id)
    assert await live.events() == []


async def test_the_migration_carries_the_webhook_and_visits_cursors_over(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"
    await _migrate(url, "0016_business_speed")
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(text(
                "INSERT INTO webhook_cursors (endpoint, last_event_id, updated_at)"
                " VALUES ('erp', 41, '2026-12-01 08:00:00.000000')"))
            await session.execute(text("UPDATE visit_cursors SET last_event_id = 37 WHERE name = 'completed'"))
            await session.commit()
        await _migrate(url, "head")
        erp = await feed_position(db, "webhook:erp")
        visits = await feed_position(db, "visits")
        assert erp is not None and erp.last_event_id == 41 and erp.updated_at.year == 2026
        assert visits is not None and visits.last_event_id == 37
        async with db.session() as session:
            tables = await session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            assert {"webhook_cursors", "visit_cursors"}.isdisjoint(row[0] for row in tables)
        await _migrate(url, "0016_business_speed", down=True)  # and back
        async with db.session() as session:
            back = await session.execute(text("SELECT endpoint, last_event_id FROM webhook_cursors"))
            assert list(back) == [("erp", 41)]
            assert await session.scalar(text("SELECT last_event_id FROM visit_cursors")) == 37
    finally:
        await db.close()


async def test_a_following_consumer_hands_a_failed_event_over_again(db: Database) -> None:
    feed = EventFeed(db, bus_of(db), interval=0.05)
    consumer = feed.consumer("follower", kinds=("created",))
    acted: list[int] = []
    failed: list[int] = []
    done = asyncio.Event()

    async def handle(event: TicketEventInfo) -> None:
        if not failed:
            failed.append(event.id)
            raise RuntimeError("first time unlucky")
        acted.append(event.id)
        done.set()

    await consumer.prepare()
    task = asyncio.create_task(consumer.follow(handle))
    try:
        opened = await TicketRepository(db).open("repair", "燃气灶打不着火", {}, customer_id=None)
        await asyncio.wait_for(done.wait(), 10)
        (created,) = [e.id for e in await TicketRepository(db).events(opened.id) if e.kind == "created"]
        assert failed == [created] and acted == [created], "handed over again after the failure"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        feed.close()
