"""The statistics log stored and read back: reports of past days use the live definitions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ctiserver.agents.model import AgentBoard, AgentState, PauseInterval, StateInterval
from ctiserver.calls.model import Call, CallTracker, CallUpdate
from ctiserver.live.wallboard import WallboardService
from ctiserver.settings import StorageSettings
from ctiserver.stats.model import (
    CallAbandoned,
    CallAnswered,
    CallOffered,
    QueueFigures,
    Record,
    StatsLog,
    record_from_dict,
    record_to_dict,
)
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.database import Database
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.telephony.events import QueueMemberListed

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: 2026-11-25 10:00 in Shanghai
T = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI).timestamp()

RECORDS = [
    CallOffered(T, "support", "c1", "c1"),
    CallAnswered(T + 12, "support", "c1", "c1", T, 12.0, "PJSIP/1001", "王小明"),
    CallOffered(T + 20, "support", "c2", "c2"),
    CallAbandoned(T + 55, "support", "c2", "c2", T + 20, 35.0),
    CallOffered(T + 60, "complaint", "c3", "c3"),
    CallAnswered(T + 65, "complaint", "c3", "c3", T + 60, 5.0, "PJSIP/1003", "张丽"),
    StateInterval("PJSIP/1001", AgentState.ON_CALL, T + 12, T + 300),
    PauseInterval("PJSIP/1003", "lunch", T + 400, T + 2200),
    # the next day, 00:30 in Shanghai: not in the report of the 25th
    CallOffered(T + 14.5 * 3600, "support", "c4", "c4"),
]



async def test_records_come_back_as_they_went_in(db: Database) -> None:
    stored = StatsRepository(db)
    await stored.append(RECORDS[:5])
    await stored.append(RECORDS[5:])
    assert await stored.between(T, T + 86400) == RECORDS
    assert await stored.between(T + 13, T + 56) == RECORDS[2:4]


async def test_the_daily_report_counts_the_local_day_like_the_live_view(db: Database) -> None:
    stored = StatsRepository(db)
    await stored.append(RECORDS)
    wallboard = WallboardService(
        board=AgentBoard(), stats=StatsLog(), calls=CallTracker(), queues=["support", "complaint"],
        history=stored, clock=lambda: T + 86400 * 2,
    )
    report = await wallboard.daily_report(dt.date(2026, 11, 25))
    support, complaint = report["queues"]
    assert (support["name"], support["offered"], support["answered"], support["abandoned"]) == ("support", 2, 1, 1)
    assert support["service_level"] == 0.5  # 1 answered within 20 s of 1 answered + 1 abandoned
    assert (complaint["offered"], complaint["answered"], complaint["service_level"]) == (1, 1, 1.0)
    assert report["agents"]["PJSIP/1003"]["pause_seconds"] == {"lunch": 1800.0}
    live = QueueFigures.from_records(RECORDS[:8], T - 36000, T + 86400, 20)
    assert support["answered_within_sl"] == live.queues["support"].answered_within_sl
    next_day = await wallboard.daily_report(dt.date(2026, 11, 26))
    assert next_day["queues"][0]["offered"] == 1


async def test_restored_history_goes_before_records_that_arrived_first() -> None:
    log = StatsLog(records=[RECORDS[2]])
    log.restore(RECORDS[:2])
    assert log.records() == RECORDS[:3]


async def test_the_writer_stores_everything_queued_even_at_shutdown(
    db: Database, tmp_path: Path
) -> None:
    stored = StatsRepository(db)
    writer: BackgroundWriter[Record] = BackgroundWriter(
        stored.append, "statistics records", name="stats", encode=record_to_dict,
        decode=record_from_dict,
        settings=StorageSettings(journal_dir=str(tmp_path / "journal"), batch_size=3),
    )
    await writer.start()
    for record in RECORDS:
        writer.put(record)
    await writer.stop()
    assert await stored.between(0, T * 2) == RECORDS


async def test_a_record_stored_twice_is_one_row(db: Database) -> None:
    stored = StatsRepository(db)
    await stored.append(RECORDS[:4])
    await stored.append(RECORDS[2:6])  # a batch retried, a journal replayed
    await stored.append([RECORDS[6], RECORDS[6]])
    assert await stored.between(0, T * 2) == RECORDS[:7]


async def test_todays_report_counts_the_pause_under_way_and_the_view_keeps_ended_calls(db: Database) -> None:
    now = T + 600
    board = AgentBoard()
    board.resync([QueueMemberListed(T, "support", "PJSIP/1003", member_name="张丽", paused=True,
                                    paused_reason="lunch", last_pause=T)], T)
    wallboard = WallboardService(
        board=board, stats=StatsLog(), calls=CallTracker(), queues=["support"], history=StatsRepository(db),
        clock=lambda: now,
    )
    today = await wallboard.daily_report(dt.date(2026, 11, 25))
    paused = today["agents"]["PJSIP/1003"]
    assert paused["pause_seconds"] == {"lunch": 600.0}
    assert paused["state_seconds"]["paused"] == 600.0
    # another day's report counts only what was stored
    assert (await wallboard.daily_report(dt.date(2026, 11, 24)))["agents"] == {}

    for n in range(25):
        call = Call(f"c{n}", started_at=T + n, ended_at=T + n + 30, caller_number=f"1380013800{n % 10}")
        wallboard.call_changed(CallUpdate("ended", call))
    wallboard.call_changed(CallUpdate("updated", Call("live", started_at=T)))
    recent = wallboard.snapshot()["recent_calls"]
    assert [c["id"] for c in recent[:3]] == ["c24", "c23", "c22"]
    assert len(recent) == 20 and all(c["state"] == "ended" for c in recent)
