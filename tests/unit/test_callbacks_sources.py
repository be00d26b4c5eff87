"""Where tasks come from: the server's own event path (typed telephony events -> call
model -> statistics -> the callbacks writer) and the IVR's callback node."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ctiserver.callbacks.model import Miss, Source
from ctiserver.callbacks.sources import Answered, Change, change_from_dict, change_to_dict
from ctiserver.customers.store import CustomerRepository
from ctiserver.ivr.engine.run import FlowRun, Step
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import upgrade_schema
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.telephony.events import (
    AgentConnected,
    ChannelCreated,
    ChannelHungUp,
    QueueCallerAbandoned,
    QueueCallerJoined,
)

T = 1_764_036_000.0


def _settings(tmp_path: Path) -> Settings:
    return Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        storage={"journal_dir": str(tmp_path / "journal")},
        callbacks={"dedup_window": 3600},
    )


async def _written(writer: BackgroundWriter[Change], n: int) -> None:
    for _ in range(200):
        if writer.status().written >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the writer wrote {writer.status()}")


def _call(server: CtiServer, n: int, number: str, at: float, *, wait: float, answered: bool = False) -> None:
    uid = linked = f"{at:.0f}.{n}"
    channel = f"Local/{number}@callers-{n:08x};2"
    dispatch = server.core.dispatch
    dispatch(ChannelCreated(at, uid, linked, channel, number, None, "hotline", "4008001234", "Ring"))
    dispatch(QueueCallerJoined(at + 1, uid, linked, channel, "support", 1))
    if answered:
        dispatch(AgentConnected(at + 1 + wait, uid, linked, channel, "support", "Local/1001@agents",
                                "1001", None, None, int(wait), 2))
    else:
        dispatch(QueueCallerAbandoned(at + 1 + wait, uid, linked, channel, "support", 1, 1, int(wait)))
    dispatch(ChannelHungUp(at + 2 + wait, uid, linked, channel, 16, "Normal Clearing"))


async def test_abandons_past_the_threshold_make_one_task_and_an_answer_cancels_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await upgrade_schema(settings.database.url)
    server = CtiServer(settings, clock=lambda: T)
    writer, store = server.callbacks.writer, server.callbacks.store
    await writer.start()
    try:
        _call(server, 1, "13800138000", T, wait=3)  # under support's 10 s: not owed
        _call(server, 2, "13800138000", T + 60, wait=25)
        _call(server, 3, "013800138000", T + 120, wait=40)
        _call(server, 4, "13800138000", T + 180, wait=12)
        _call(server, 5, "13900139000", T + 200, wait=30)
        await _written(writer, 4)
        tasks = await store.search()
        assert [(t.number, t.misses, t.wait_seconds, t.source, t.queue, t.status) for t in tasks] == [
            ("13900139000", 1, 30.0, "abandoned", "support", "pending"),
            ("13800138000", 3, 40.0, "abandoned", "support", "pending"),
        ]
        _call(server, 6, "+8613800138000", T + 300, wait=5, answered=True)
        await _written(writer, 5)
        (owed,) = await store.search(number="13800138000")
        assert owed.status == "cancelled"
        assert (await store.search(number="13900139000"))[0].status == "pending"
    finally:
        await writer.stop()
        await server.db.close()


async def test_an_abandon_carries_the_customer_vip_level_and_ivr_choices(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await upgrade_schema(settings.database.url)
    server = CtiServer(settings, clock=lambda: T)
    vip = await CustomerRepository(server.db).create("张伟", "+86 139 0013 9000", level="vip")
    run = FlowRun("hotline", "v1", {}, [Step("language", "language", 0.5, digits="1"),
                                       Step("main_menu", "menu", 3.0, digits="0"),
                                       Step("agents", "queue", 5.0)], None, False)
    await IvrRunRepository(server.db).save(run, call_linkedid=f"{T + 10:.0f}.1", uniqueid="u", flow_version_number=1)
    writer, store = server.callbacks.writer, server.callbacks.store
    await writer.start()
    try:
        _call(server, 1, "13900139000", T + 10, wait=30)
        _call(server, 2, "13700137000", T + 20, wait=30)
        await _written(writer, 2)
        (known,) = await store.search(number="13900139000")
        assert (known.customer_id, known.vip, known.choices) == (vip.id, True, ("language:1", "main_menu:0"))
        (unknown,) = await store.search(number="13700137000")
        assert (unknown.customer_id, unknown.vip, unknown.choices) == (None, False, ())
    finally:
        await writer.stop()
        await server.db.close()


def test_changes_survive_the_journal() -> None:
    miss = Miss("13800138000", Source.ABANDONED, T, queue="support", reason="r", wait_seconds=12.5,
                customer_id=3, linkedid="c1", choices=("menu:0",), vip=True)
    answered = Answered("13800138000", T + 5, "c2")
    assert change_from_dict(change_to_dict(miss)) == miss
    assert change_from_dict(change_to_dict(answered)) == answered
