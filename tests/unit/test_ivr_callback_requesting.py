"""A callback request the IVR records is never dropped because the database was busy: it
waits for a locked database (or a statement stuck behind a lock), then goes to the journal
(on disk at once), and the durable writer records it when the database answers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from ctiserver.ivr.callback_requesting import PatientCallbackRequests, callback_from_dict, callback_to_dict
from ctiserver.ivr.engine.services import CallbackQueued, CallbackRequest
from ctiserver.settings import StorageSettings
from ctiserver.storage.writer import BackgroundWriter

REQUEST = CallbackRequest("13800138000", 7, "call-1", "IVR hotline: cb", source="no_agent",
                          choices=("lang:1", "menu:3"), vip=True)
LOCKED = OperationalError("INSERT INTO callbacks", {}, sqlite3.OperationalError("database is locked"))


class Store:
    """Locked ``busy`` times (or stuck, ``stuck``), then records each call's request once."""

    def __init__(self, busy: int, *, stuck: bool = False) -> None:
        self.busy = busy
        self.stuck = stuck
        self.recorded: dict[str, CallbackRequest] = {}

    async def record(self, request: CallbackRequest) -> str:
        if self.stuck:
            await asyncio.Event().wait()
        if self.busy:
            self.busy -= 1
            raise LOCKED
        self.recorded.setdefault(request.call_id, request)
        return str(list(self.recorded).index(request.call_id) + 1)


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def test_a_request_goes_through_the_journal_unchanged() -> None:
    assert callback_from_dict(callback_to_dict(REQUEST)) == REQUEST


async def test_a_busy_database_is_waited_for() -> None:
    store = Store(busy=5)
    requests = PatientCallbackRequests(store.record, sleep=no_sleep)
    assert await requests.request(REQUEST) == "1" and store.recorded == {"call-1": REQUEST}


@pytest.mark.parametrize("stuck", [False, True], ids=["locked", "stuck behind a lock"])
async def test_a_database_busy_too_long_journals_the_request_and_records_it_once(
    tmp_path: Path, stuck: bool,
) -> None:
    store = Store(busy=1_000_000, stuck=stuck)
    requests = PatientCallbackRequests(store.record, wait=0.05)
    writer: BackgroundWriter[CallbackRequest] = BackgroundWriter(
        requests.request_queued, "IVR callback requests", name="ivr-callbacks", encode=callback_to_dict,
        decode=callback_from_dict, settings=StorageSettings(journal_dir=str(tmp_path), retry_min=0.01),
        journal_first=True,
    )
    requests.later = writer.put
    with pytest.raises(CallbackQueued):
        await requests.request(REQUEST)
    journal = tmp_path / "ivr-callbacks.jsonl"
    assert b'"call_id":"call-1"' in journal.read_bytes(), "on disk before anything is tried again"
    assert store.recorded == {}
    store.busy, store.stuck = 2, False
    await writer.start()
    try:
        for _ in range(500):
            if store.recorded and not journal.exists():
                break
            await asyncio.sleep(0.01)
    finally:
        await writer.stop()
    assert store.recorded == {"call-1": REQUEST} and not journal.exists()
    await requests.request_queued([REQUEST])  # written again (a crash before the commit): still one
    assert list(store.recorded) == ["call-1"]
