"""A ticket the IVR opens is never dropped because the database was busy: it waits (with
back-off) for a locked database, then goes to the durable writer, which opens it once
(issue 18, part 0); and on SQLite the customer import takes turns with ticket openers."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ctiserver.ivr.engine.services import TicketQueued, TicketRequest
from ctiserver.ivr.ticket_opening import PatientTicketOpener, request_from_dict, request_to_dict
from ctiserver.settings import StorageSettings
from ctiserver.spreadsheets.model import parse_customers
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.storage.database import Database
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import Ticket

REQUEST = TicketRequest("complaint", "投诉：服务态度", {"detail": "x"}, "13800138000", None, "call-1", ["start", "t"])
LOCKED = OperationalError("INSERT INTO ticket_counters", {}, sqlite3.OperationalError("database is locked"))


class Opener:
    """A ticket store that is locked ``busy`` times, then opens (and remembers) tickets."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.opened: list[TicketRequest] = []

    async def open(self, request: TicketRequest) -> str:
        if self.busy:
            self.busy -= 1
            raise LOCKED
        self.opened.append(request)
        return f"C-{len(self.opened)}"

    async def of_call(self, call_id: str) -> set[tuple[str, str]]:
        return {(r.type, r.summary) for r in self.opened if r.call_id == call_id}


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


async def test_a_busy_database_is_waited_for() -> None:
    store = Opener(busy=5)
    opener = PatientTicketOpener(store.open, store.of_call, sleep=no_sleep)
    assert await opener.open(REQUEST) == "C-1" and store.opened == [REQUEST]


async def test_a_database_busy_too_long_queues_the_ticket_for_the_durable_writer(tmp_path: Path) -> None:
    store = Opener(busy=1_000_000)
    opener = PatientTicketOpener(store.open, store.of_call, wait=0.05)
    writer: BackgroundWriter[TicketRequest] = BackgroundWriter(
        opener.open_queued, "IVR tickets", name="ivr-tickets", encode=request_to_dict, decode=request_from_dict,
        settings=StorageSettings(journal_dir=str(tmp_path), retry_min=0.01, retry_max=0.02),
    )
    opener.later = writer.put
    await writer.start()
    try:
        with pytest.raises(TicketQueued):
            await opener.open(REQUEST)
        store.busy = 0  # the database answers again: the writer opens it, once
        writer.put(REQUEST)  # a replayed journal line: already opened, opens nothing
        for _ in range(500):
            if writer.status().written == 2:
                break
            await asyncio.sleep(0.01)
        assert store.opened == [REQUEST]
    finally:
        await writer.stop()
    assert request_from_dict(request_to_dict(REQUEST)) == REQUEST


async def test_the_ticket_of_a_call_that_ends_while_waiting_is_queued() -> None:
    store = Opener(busy=1_000_000)
    queued: list[TicketRequest] = []
    opener = PatientTicketOpener(store.open, store.of_call)
    opener.later = queued.append
    waiting = asyncio.create_task(opener.open(REQUEST))
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queued == [REQUEST]


async def test_a_refusal_of_the_record_itself_is_not_retried() -> None:
    async def refuse(_: TicketRequest) -> str:
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL"))

    opener = PatientTicketOpener(refuse, Opener(0).of_call, sleep=no_sleep)
    opener.later = pytest.fail
    with pytest.raises(IntegrityError):
        await opener.open(REQUEST)


async def test_tickets_opened_during_an_import_take_turns_with_it(db: Database) -> None:
    """On SQLite, the import's batches and ticket openers take turns: every ticket opens."""
    text = "姓名,电话,型号,序列号\n" + "".join(f"客户{n},139{n:08d},KFR-35GW,SN{n}\n" for n in range(1500))
    parsed = parse_customers(text)
    tickets = TicketRepository(db, timezone="Asia/Shanghai")
    waits: list[float] = []

    async def complaint(n: int) -> None:
        await asyncio.sleep(0.05 * n)
        start = time.perf_counter()
        await tickets.open("complaint", f"投诉 {n}", {}, customer_id=None, call_linkedid=f"call-{n}")
        waits.append(time.perf_counter() - start)

    report, *_ = await asyncio.gather(CustomerImport(db).run(parsed.rows), *(complaint(n) for n in range(20)))
    assert report.accepted == 1500 and report.problems == []
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 20
    assert len(waits) == 20


async def test_a_queued_ticket_is_no_error_of_the_call() -> None:
    """The engine goes on to the queue; the step says "queued", not "error"."""
    from tests.unit.test_flow_engine import FakeServices, flow, run

    class Busy(FakeServices):
        async def open_ticket(self, request: TicketRequest) -> str:
            self.tickets.append(request)
            raise TicketQueued("database is locked")

    f = flow("""
        start: {kind: ticket, type: complaint, summary: 投诉, next: queue}
        queue: {kind: queue, queue: complaint}
    """)
    result, _, services = await run(f, services=Busy())
    assert result.outcome is not None and result.outcome.queue == "complaint"
    assert result.path[0].result == "queued" and [e.kind for e in result.path[0].events] == ["ticket"]
    assert [t.type for t in services.tickets] == ["complaint"]
