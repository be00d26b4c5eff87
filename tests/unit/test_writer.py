"""The background writer: bounded memory, the journal, replay, back-off, the dead letter."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from ctiserver.calls.store import CallRepository, CallSnapshot
from ctiserver.calls.tables import CallRow
from ctiserver.settings import Settings, StorageSettings
from ctiserver.storage.database import Database
from ctiserver.storage.writer import BackgroundWriter, is_transient
from ctiserver.users.store import UserRepository
from ctiserver.web import health
from tests.unit.test_web import FAST_HASHER
from tests.unit.web_app import build_app

T0 = 1_714_523_400.0


@dataclass(frozen=True)
class Item:
    id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Item:
        return cls(**data)


def refused() -> OperationalError:
    return OperationalError("INSERT INTO things", {}, ConnectionRefusedError(111, "refused"))


class FakeStore:
    """Idempotent by id, like the real repositories; can be down, can refuse some ids."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self.batches: list[list[int]] = []
        self.down = False
        self.poison: set[int] = set()

    async def save(self, items: list[Item]) -> None:
        self.batches.append([i.id for i in items])
        await asyncio.sleep(0)
        if self.down:
            raise refused()
        bad = [i.id for i in items if i.id in self.poison]
        if bad:
            raise IntegrityError("INSERT INTO things", {}, Exception(f"CHECK failed for {bad[0]}"))
        self.order.extend(i.id for i in items if i.id not in self.order)


def settings(tmp_path: Path, **values: Any) -> StorageSettings:
    base: dict[str, Any] = {
        "journal_dir": str(tmp_path / "journal"), "retry_min": 0.01, "retry_max": 0.05,
        "fsync_interval": 0.01, "stop_timeout": 2.0, "replay_timeout": 5.0,
    }
    return StorageSettings(**{**base, **values})


def item_writer(
    store: FakeStore, tmp_path: Path, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **values: Any,
) -> BackgroundWriter[Item]:
    return BackgroundWriter(
        store.save, "things", name="things", encode=Item.to_dict, decode=Item.from_dict,
        settings=settings(tmp_path, **values), sleep=sleep,
    )


async def eventually(check: Callable[[], bool]) -> None:
    """Poll ``check`` (a few milliseconds apart) until it holds; TimeoutError after 5 s."""
    async with asyncio.timeout(5.0):
        while True:
            if check():
                return
            await asyncio.sleep(0.005)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- poison records ------------------------------------------------------------------------


async def test_a_poison_record_does_not_block_the_next_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    store.poison = {7, 18}
    writer = item_writer(store, tmp_path, batch_size=10)
    await writer.start()
    for i in range(25):
        writer.put(Item(i))
    await eventually(lambda: len(store.order) == 23)
    await writer.stop()
    assert store.order == [i for i in range(25) if i not in (7, 18)]
    dead = lines(writer.dead_letter_path)
    assert [entry["record"] for entry in dead] == [{"id": 7}, {"id": 18}]
    assert all("IntegrityError" in entry["error"] and entry["writer"] == "things" for entry in dead)
    assert all(entry["at"].endswith("+00:00") for entry in dead)
    assert writer.status().dead_lettered == 2
    assert writer.status().database_reachable
    refused_logs = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(refused_logs) == 2 and "refused for good" in refused_logs[0].getMessage()


async def test_a_call_the_database_refuses_goes_to_the_dead_letter(
    db: Database, tmp_path: Path
) -> None:
    records = CallRepository(db)
    writer: BackgroundWriter[CallSnapshot] = BackgroundWriter(
        records.save_many, "ended calls", name="calls", encode=CallSnapshot.to_dict,
        decode=CallSnapshot.from_dict, settings=settings(tmp_path),
    )
    await writer.start()
    calls = [snapshot(f"{T0}.{i}", T0 + i) for i in range(6)]
    poison = snapshot("poison", 1e20)  # no datetime is that far away: a ValueError of its own
    for call in [*calls[:3], poison, *calls[3:]]:
        writer.put(call)
    await writer.stop()
    assert sorted(await linkedids(db)) == sorted(c.linkedid for c in calls)
    (dead,) = lines(writer.dead_letter_path)
    assert dead["record"]["linkedid"] == "poison"
    assert CallSnapshot.from_dict(dead["record"]) == poison


def snapshot(linkedid: str, started: float) -> CallSnapshot:
    return CallSnapshot(
        linkedid=linkedid, caller_number="13800138000", caller_name="张伟", started_at=started,
        answered_at=None, ended_at=started + 30, queue="support", agent=None, wait_seconds=None,
        hangup_cause=16, hangup_cause_text="Normal Clearing",
    )


async def linkedids(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(CallRow.linkedid)))


# -- the journal ----------------------------------------------------------------------------


async def test_a_queue_over_its_bound_spills_to_the_journal_and_comes_back_in_order(
    tmp_path: Path,
) -> None:
    store = FakeStore()
    store.down = True
    writer = item_writer(store, tmp_path, queue_size=5, batch_size=3)
    await writer.start()
    for i in range(40):
        writer.put(Item(i))
    await eventually(lambda: not writer.status().database_reachable)
    status = writer.status()
    assert status.queued <= 5 + 3  # the bound, and the batch being tried
    assert status.journaled == 40 - status.queued
    assert writer.journal_path.is_file()
    assert [entry["id"] for entry in lines(writer.journal_path)] == list(range(status.queued, 40))
    store.down = False
    writer.put(Item(40))  # while the journal is not empty, new records go after it
    await eventually(lambda: len(store.order) == 41)
    assert store.order == list(range(41))
    await eventually(lambda: not writer.journal_path.exists())
    assert writer.status().journaled == 0
    assert writer.status().database_reachable
    await writer.stop()


async def test_stop_journals_what_the_database_did_not_take_and_start_writes_it_first(
    tmp_path: Path,
) -> None:
    store = FakeStore()
    store.down = True
    writer = item_writer(store, tmp_path, queue_size=4, batch_size=2, stop_timeout=5.0)
    await writer.start()
    for i in range(10):
        writer.put(Item(i))
    await eventually(lambda: not writer.status().database_reachable)
    started = time.monotonic()
    await writer.stop()
    assert time.monotonic() - started < 1.0  # the database is down: no waiting for it
    assert [entry["id"] for entry in lines(writer.journal_path)] == list(range(10))
    writer.put(Item(10))  # late: journaled too, for the next start
    assert [entry["id"] for entry in lines(writer.journal_path)] == list(range(11))

    store.down = False
    again = item_writer(store, tmp_path, queue_size=4, batch_size=2)
    await again.start()  # waits for the replay
    assert store.order == list(range(11))
    again.put(Item(11))
    await again.stop()
    assert store.order == list(range(12))
    assert not again.journal_path.exists()


async def test_stop_writes_what_is_queued_when_the_database_answers(tmp_path: Path) -> None:
    store = FakeStore()
    writer = item_writer(store, tmp_path, queue_size=100, batch_size=7)
    await writer.start()
    for i in range(50):
        writer.put(Item(i))
    await writer.stop()
    assert store.order == list(range(50))
    assert not writer.journal_path.exists()


async def test_a_crash_replays_the_journal_without_doubles(db: Database, tmp_path: Path) -> None:
    """The first writer commits a batch from its journal and dies before it notes the commit;
    the next one writes that batch again, and the upsert keeps one row per call."""
    records = CallRepository(db)
    crashed = asyncio.Event()
    committed: list[str] = []

    async def save_then_die(calls: list[CallSnapshot]) -> None:
        await records.save_many(calls)
        committed.extend(c.linkedid for c in calls)
        crashed.set()
        await asyncio.Event().wait()  # the process is gone: the offset is never written

    def calls_writer(save: Callable[[list[CallSnapshot]], Awaitable[None]], **values: Any
                     ) -> BackgroundWriter[CallSnapshot]:
        return BackgroundWriter(
            save, "ended calls", name="calls", encode=CallSnapshot.to_dict,
            decode=CallSnapshot.from_dict, settings=settings(tmp_path, **values),
        )

    calls = [snapshot(f"{T0}.{i}", T0 + i) for i in range(10)]
    first = calls_writer(save_then_die, queue_size=0, batch_size=4)  # everything via the journal
    await first.start()
    for call in calls:
        first.put(call)
    await asyncio.wait_for(crashed.wait(), 5)
    crash(first)
    assert committed == [c.linkedid for c in calls[:4]]
    assert len(lines(first.journal_path)) == 10

    saved: list[str] = []

    async def save(batch: list[CallSnapshot]) -> None:
        saved.extend(c.linkedid for c in batch)
        await records.save_many(batch)

    second = calls_writer(save, batch_size=4)
    await second.start()
    await second.stop()
    assert saved == [c.linkedid for c in calls]  # the committed four written again...
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CallRow)) == 10  # ...once
    assert sorted(await linkedids(db)) == sorted(c.linkedid for c in calls)
    assert not second.journal_path.exists()


def crash(writer: BackgroundWriter[Any]) -> None:
    """The process dies: its tasks stop where they are, nothing of stop() runs."""
    for task in (writer._task, writer._flusher):
        assert task is not None
        task.cancel()


async def test_a_torn_last_line_is_cut_and_the_rest_replayed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal" / "things.jsonl"
    journal.parent.mkdir()
    journal.write_text('{"id":1}\n{"id":2}\nnot json\n{"id":3}\n{"id":')
    store = FakeStore()
    writer = item_writer(store, tmp_path)
    await writer.start()
    await writer.stop()
    assert store.order == [1, 2, 3]
    assert "torn last line" in caplog.text
    (dead,) = lines(writer.dead_letter_path)
    assert dead["record"] == "not json" and "JSONDecodeError" in dead["error"]
    assert not journal.exists()


async def test_a_committed_offset_is_not_replayed(tmp_path: Path) -> None:
    journal = tmp_path / "journal" / "things.jsonl"
    journal.parent.mkdir()
    journal.write_text('{"id":1}\n{"id":2}\n{"id":3}\n')
    journal.with_suffix(".offset").write_text(str(len('{"id":1}\n{"id":2}\n')))
    store = FakeStore()
    writer = item_writer(store, tmp_path)
    await writer.start()
    await writer.stop()
    assert store.order == [3]


async def test_appending_to_the_journal_is_quick(tmp_path: Path) -> None:
    store = FakeStore()
    store.down = True
    writer = item_writer(store, tmp_path, queue_size=0)
    await writer.start()
    took: list[float] = []
    for i in range(2000):
        started = time.perf_counter()
        writer.put(Item(i))
        took.append(time.perf_counter() - started)
    took.sort()
    print(f"journal append (put beyond the bound): median {took[1000] * 1e6:.0f} us, "
          f"p99 {took[1980] * 1e6:.0f} us, max {took[-1] * 1e6:.0f} us")
    assert took[1000] < 0.005  # generous: a line written and flushed, no fsync
    await writer.stop()
    assert writer.status().journaled == 2000


# -- retries --------------------------------------------------------------------------------


async def test_transient_failures_are_retried_with_exponential_back_off(tmp_path: Path) -> None:
    store = FakeStore()
    store.down = True
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 7:
            store.down = False
        await asyncio.sleep(0)

    writer = item_writer(store, tmp_path, sleep=sleep, retry_min=0.5, retry_max=4.0)
    await writer.start()
    writer.put(Item(1))
    await eventually(lambda: store.order == [1])
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert store.batches == [[1]] * 8
    status = writer.status()
    assert status.database_reachable and status.written == 1
    assert status.last_error is not None and "refused" in status.last_error
    assert status.dead_lettered == 0
    writer.put(Item(2))  # back-off starts again from the minimum
    store.down = True
    await eventually(lambda: len(delays) >= 9)
    assert delays[7:9] == [0.5, 1.0]
    assert not writer.status().database_reachable
    store.down = False
    await eventually(lambda: store.order == [1, 2])
    await writer.stop()


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


class _AsyncpgDataError(ValueError):
    """asyncpg's client-side DataError is an InterfaceError and a ValueError."""


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (refused(), True),
        (OperationalError("INSERT", {}, Exception("database is locked")), True),
        (InterfaceError("INSERT", {}, Exception("connection is closed")), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (DBAPIError("INSERT", {}, _PgError("57P01")), True),  # admin shutdown
        (DBAPIError("INSERT", {}, _PgError("08006")), True),  # connection failure
        (DBAPIError("INSERT", {}, _PgError("22001")), False),  # value too long
        (DBAPIError("INSERT", {}, _PgError("23505")), False),  # unique violation
        (IntegrityError("INSERT", {}, Exception("NOT NULL")), False),
        (InterfaceError("INSERT", {}, _AsyncpgDataError("invalid input for $1")), False),
        (ValueError("year 3170843 is out of range"), False),
        (KeyError("kind"), False),
        (RuntimeError("a bug"), False),
    ],
)
def test_transient_or_the_records_fault(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


# -- health ---------------------------------------------------------------------------------


class _Ami:
    connected = True


class _Calls:
    def active_calls(self) -> list[Any]:
        return []

    def subscribe(self, listener: Any) -> Callable[[], None]:
        return lambda: None


async def test_healthz_reports_the_writers(db: Database, tmp_path: Path) -> None:
    store = FakeStore()
    store.down = True
    writer = item_writer(store, tmp_path, queue_size=1, batch_size=1)
    app = build_app(Settings(), db=db, calls=_Calls(), ami=_Ami())
    health.watch_writer(app, writer)
    await writer.start()
    for i in range(5):
        writer.put(Item(i))
    await eventually(lambda: not writer.status().database_reachable)
    await UserRepository(db, FAST_HASHER).add("admin", "pw-admin", "admin")
    async with TestClient(TestServer(app)) as client:
        assert await (await client.get("/healthz")).json() == {"status": "degraded"}
        # what is behind it is for admins
        await client.post("/login", json={"username": "admin", "password": "pw-admin"})
        body = await (await client.get("/healthz")).json()
    assert body["status"] == "degraded"
    things = body["writers"]["things"]
    assert (things["queued"], things["journaled"], things["database_reachable"]) == (1, 4, False)
    assert "refused" in things["last_error"]
    store.down = False
    await writer.stop()
