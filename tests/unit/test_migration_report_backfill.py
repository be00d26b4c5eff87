"""Migrations 0010 and 0015 backfill the reports' totals with the counting copied into them
(a migration imports nothing of ctiserver): on records stored before them, what they
write equals what the application's own counting (``ctiserver.reports.store``) gives."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from ctiserver.reports.store import coarse_from_hours_sync, rebuild_sync, thresholds
from ctiserver.reports.tables import ReportDayRow, ReportPauseDayRow, ReportQueueDayRow, ReportQueueHourRow
from ctiserver.settings import QueueSettings, Settings
from ctiserver.stats.model import record_to_dict
from ctiserver.storage.database import alembic_config
from tests.reports_seed import QUEUES, ZONE, day_records

#: service levels that differ by queue, a short abandon that is not the default
SETTINGS = Settings().replace(
    hotline={"timezone": ZONE, "queues": tuple(QueueSettings(name=q, service_level=10 + 5 * n)
                                              for n, q in enumerate(QUEUES))},
    reports={"short_abandon_seconds": 8},
)
HOURLY = ("report_hours", "report_pauses")
COARSE = ("report_days", "report_queue_days", "report_queue_hours", "report_pause_days")


def _records() -> list[dict[str, Any]]:
    rng = random.Random(17)
    first = dt.date(2026, 3, 28)
    return [record_to_dict(r) for n in range(3) for r in day_records(first + dt.timedelta(days=n), 50, 3, rng)]


async def _run(url: str, work: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _upgrade_to(revision: str) -> Any:
    def run(connection: Connection) -> None:
        from alembic import command

        config = alembic_config(str(connection.engine.url))
        config.attributes["connection"] = connection
        config.attributes["settings"] = SETTINGS
        command.upgrade(config, revision)

    return run


def _rows(*tables: str) -> Any:
    def read(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
        return {
            table: {tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                    for row in connection.execute(text(f"SELECT * FROM {table}"))}  # noqa: S608 (our names)
            for table in tables
        }

    return read


async def test_the_backfills_count_as_the_application_does(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    records = _records()
    assert {r["kind"] for r in records} >= {"offered", "answered", "abandoned", "unanswered", "completed",
                                            "agent_state", "pause"}
    await _run(url, _upgrade_to("0009_customer_import"))

    def store(connection: Connection) -> None:
        connection.execute(text("INSERT INTO stats_records (at, kind, data, key) VALUES (:at, :kind, :data, :key)"), [
            {"at": r.get("at", r.get("end")), "kind": r["kind"], "data": json.dumps(r), "key": f"k{n}"}
            for n, r in enumerate(records)
        ])

    await _run(url, store)
    await _run(url, _upgrade_to("0010_report_days"))
    migrated = await _run(url, _rows(*HOURLY))
    assert len(migrated["report_hours"]) > 100 and migrated["report_pauses"]

    def recount(connection: Connection) -> None:
        rebuild_sync(connection, thresholds(SETTINGS), coarse=False)

    await _run(url, recount)
    assert await _run(url, _rows(*HOURLY)) == migrated

    await _run(url, _upgrade_to("0015_report_days2"))
    coarse = await _run(url, _rows(*COARSE))
    assert all(coarse.values())

    def resum(connection: Connection) -> None:
        for model in (ReportDayRow, ReportQueueDayRow, ReportQueueHourRow, ReportPauseDayRow):
            connection.execute(delete(model))
        assert connection.execute(select(ReportDayRow)).first() is None
        coarse_from_hours_sync(connection, ZONE)

    await _run(url, resum)
    assert await _run(url, _rows(*COARSE)) == coarse
