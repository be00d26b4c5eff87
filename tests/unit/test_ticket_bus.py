"""The in-process ticket bus and the work view's two paths: a change committed here is pushed
from the bus without a look at the database, once; a change written by another process (another
Database on the same file: another bus) is caught up by the cursor, once; a state older than
one already pushed is not pushed again; the SLA watch's escalations come by the bus too."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ctiserver.storage.database import Database
from ctiserver.tickets.bus import Committed, TicketBus, bus_of
from ctiserver.tickets.escalation import SlaWatch
from ctiserver.tickets.infos import TicketEventInfo
from ctiserver.tickets.store import TicketRepository
from tests.unit.test_workview import Env, next_of, work_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with work_env(tmp_path) as found:
        yield found


@pytest.fixture
async def running(env: Env) -> AsyncIterator[asyncio.Task[None]]:
    """The feed running with an interval that never comes: only the bus (and the first look)."""
    task = asyncio.create_task(env.feed.run(3600.0))
    while env.feed.cursor is None:
        await asyncio.sleep(0.01)
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Reads:
    """Counts the SELECTs on ticket_events and tickets while it is installed."""

    def __init__(self, env: Env) -> None:
        self.count = 0
        self._env = env
        self._saved = (env.feed._store.tickets, env.tickets.events_after)

    async def _tickets(self, ids: Any) -> Any:
        self.count += 1
        return await self._saved[0](ids)

    def __enter__(self) -> Reads:
        self._env.feed._store.tickets = self._tickets  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        self._env.feed._store.tickets = self._saved[0]  # type: ignore[method-assign]


def test_the_bus_hands_each_commit_to_every_listener_and_survives_a_failing_one() -> None:
    bus = TicketBus()
    got: list[Committed] = []

    def broken(_change: Committed) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(got.append)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    events = [TicketEventInfo(n, 1, at, "note", "new", "new", None, None, None, {}) for n in (5, 4)]
    ticket: Any = object()
    bus.publish(ticket, events)
    bus.publish(ticket, [])
    assert [[e.id for e in c.events] for c in got] == [[4, 5]], "in id order; a commit without events is none"
    unsubscribe()
    bus.publish(ticket, events)
    assert len(got) == 1


async def test_a_change_made_here_is_pushed_from_the_bus_once_without_reading(
    env: Env, running: asyncio.Task[None],
) -> None:
    bj = await env.socket("bj")
    supervisor = await env.socket("supervisor")
    with Reads(env) as reads:
        opened = await env.tickets.open("complaint", "投诉：上门迟到", {}, customer_id=None)
        moved = await env.tickets.dispatch(opened.id, "complaint", env.branches["beijing"])
        got = [await supervisor.receive_json(timeout=5), await supervisor.receive_json(timeout=5)]
        assert [(m["event"]["kind"], m["ticket"]["version"]) for m in got] == [
            ("dispatched", 1), ("dispatched", 2)], "the open (created + dispatched in one commit), the dispatch"
        assert got[1]["ticket"]["branch_id"] == env.branches["beijing"]
        assert await env.feed.look() == 0, "the cursor finds them pushed already"
        assert reads.count == 0, "the bus brought the tickets as committed: no read"
    mine = await next_of(bj, env, "bj", 1)
    assert [(m["type"], m["ticket"]["version"]) for m in mine] == [("ticket", moved.version)]
    assert await next_of(supervisor, env, "supervisor", 2) == []


async def test_another_process_s_change_is_caught_up_once(
    env: Env, running: asyncio.Task[None], tmp_path: Path,
) -> None:
    other = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3")
    try:
        assert bus_of(other) is not bus_of(env.db)
        supervisor = await env.socket("supervisor")
        theirs = await TicketRepository(other).open("complaint", "另一台服务器", {}, customer_id=None)
        ours = await env.tickets.open("complaint", "这台服务器", {}, customer_id=None)
        message = await supervisor.receive_json(timeout=5)
        assert message["ticket"]["number"] == ours.number, "the bus does not wait for the interval"
        assert await env.feed.look() == 1, "the other server's ticket, by the cursor"
        caught = await supervisor.receive_json(timeout=5)
        assert caught["ticket"]["number"] == theirs.number
        assert await env.feed.look() == 0
        assert await next_of(supervisor, env, "supervisor", 1) == []
    finally:
        await other.close()


async def test_a_state_older_than_the_one_pushed_is_not_pushed(env: Env) -> None:
    await env.feed.look()
    supervisor = await env.socket("supervisor")
    opened = await env.tickets.open("complaint", "先后", {}, customer_id=None)
    moved = await env.tickets.dispatch(opened.id, "complaint", env.branches["shanghai"])
    assert await env.feed.look() == 1, "the feed's task was not running: the cursor found both"
    history = await env.tickets.events(opened.id)
    # the bus's news of the open arrives late, after the newer state was pushed
    env.feed.committed(Committed(opened, tuple(history[:1])))
    env.feed.committed(Committed(opened, (dataclasses.replace(history[0], id=history[-1].id + 99),)))
    assert await env.feed.drain() == 1, "only the unknown event with a newer id"
    got = await next_of(supervisor, env, "supervisor", 1)
    assert [m["ticket"]["version"] for m in got] == [moved.version, opened.version]
    env.feed.committed(Committed(opened, (dataclasses.replace(history[0], id=history[-1].id + 50),)))
    assert await env.feed.drain() == 0, "older than the state pushed last"


async def test_the_sla_watch_s_escalation_comes_by_the_bus(env: Env, running: asyncio.Task[None]) -> None:
    supervisor = await env.socket("supervisor")
    opened = await env.tickets.open("complaint", "很久没人管", {}, customer_id=None)
    assert (await supervisor.receive_json(timeout=5))["ticket"]["escalation_level"] == 0
    later = opened.created_at + dt.timedelta(days=30)
    assert await SlaWatch(env.db, env.tickets.sla, lambda: later).check() > 0
    message = await supervisor.receive_json(timeout=5)
    assert message["event"]["kind"] in ("escalated", "breached"), "the watch's transaction: its last event"
    assert message["ticket"]["escalation_level"] > 0
    assert await env.feed.look() == 0, "and not again by the cursor"
    assert await next_of(supervisor, env, "supervisor", 1) == []


async def test_nothing_is_pushed_to_nobody(env: Env, running: asyncio.Task[None]) -> None:
    await env.tickets.open("complaint", "无人在看", {}, customer_id=None)
    await asyncio.sleep(0.05)
    assert await env.feed.drain() == 0
    http = await env.session("bj")
    ws: aiohttp.ClientWebSocketResponse = await http.ws_connect(env.server.make_url("/ws?watch=tickets"))
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    assert await env.feed.look() == 0, "what was written before anyone watched is not news"
