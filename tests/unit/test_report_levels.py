"""The coarser levels of the reports' totals (per local day, per queue): each equals the
hourly rows summed here by the local day of each hour (plain Python over the stored rows),
they are kept with every stored batch, a rebuild and the migration's backfill give the same
rows, and the reports that read them still equal the records (filtered by an agent too)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from ctiserver.reports.model import MAX_COLUMNS, LocalDays
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import Filters, ReportService
from ctiserver.reports.store import ReportTotals, coarse_from_hours_sync
from ctiserver.reports.tables import (
    ReportDayRow,
    ReportHourRow,
    ReportPauseDayRow,
    ReportPauseRow,
    ReportQueueDayRow,
    ReportQueueHourRow,
)
from ctiserver.stats.days import HotlineDays
from ctiserver.stats.model import CallAnswered, CallCompleted
from ctiserver.storage.database import Database
from tests.reports_seed import QUEUES, ZONE
from tests.unit.test_reports import (  # noqa: F401  (the seeded month, a fixture)
    DAYS,
    FIRST,
    RANGES,
    RECORDS,
    THRESHOLDS,
    TZ,
    expected_queue,
    midnight,
    same,
    seeded,
)

COARSE = (ReportDayRow, ReportQueueDayRow, ReportQueueHourRow, ReportPauseDayRow)
EPOCH = dt.date(1970, 1, 1)


def local_day(hour: int) -> int:
    """The local day (days since 1970-01-01) of the hour's start, computed here."""
    return (dt.datetime.fromtimestamp(hour * 3600, TZ).date() - EPOCH).days


def rounded(row: Any) -> tuple[Any, ...]:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


async def table_rows(db: Database, model: Any) -> dict[tuple[Any, ...], dict[str, float]]:
    """key columns -> the other columns of every stored row of ``model``."""
    table = model.__table__
    keys = [c.name for c in table.primary_key.columns]
    async with db.session() as session:
        rows = (await session.execute(select(table))).mappings().all()
    return {tuple(r[k] for k in keys): {c: float(v) for c, v in r.items() if c not in keys} for r in rows}


def summed(rows: dict[tuple[Any, ...], dict[str, float]], key: Any, keep: Any = None) -> dict[Any, dict[str, float]]:
    """The rows grouped by ``key(row key)`` (None: left out), sums added and maxima kept."""
    out: dict[Any, dict[str, float]] = {}
    for k, values in rows.items():
        group = key(k)
        if group is None:
            continue
        into = out.setdefault(group, {})
        for name, value in values.items():
            if keep is not None and name not in keep:
                continue
            into[name] = max(into.get(name, 0.0), value) if name in MAX_COLUMNS else into.get(name, 0.0) + value
    return out


def close(actual: dict[Any, dict[str, float]], expected: dict[Any, dict[str, float]]) -> bool:
    return actual.keys() == expected.keys() and all(
        actual[k].keys() == expected[k].keys() and all(abs(actual[k][c] - expected[k][c]) < 1e-6 for c in expected[k])
        for k in expected)


@pytest.fixture
async def db(seeded: Path, tmp_path: Path) -> Any:  # noqa: F811
    """A copy of the seeded month (tests here rebuild and wipe rows)."""
    path = tmp_path / "copy.sqlite3"
    shutil.copy(seeded, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.close()


async def test_each_level_is_the_hourly_rows_summed_by_local_day(db: Database) -> None:
    hours = await table_rows(db, ReportHourRow)
    queue_columns = set(ReportQueueDayRow.__table__.columns.keys()) - {"day", "queue"}
    assert close(await table_rows(db, ReportDayRow), summed(hours, lambda k: (local_day(k[0]), k[1], k[2])))
    assert close(await table_rows(db, ReportQueueDayRow),
                 summed(hours, lambda k: (local_day(k[0]), k[1]) if k[1] else None, queue_columns))
    assert close(await table_rows(db, ReportQueueHourRow),
                 summed(hours, lambda k: (k[0], k[1]) if k[1] else None, queue_columns))
    pauses = {k: {"seconds": v["seconds"]} for k, v in (await table_rows(db, ReportPauseRow)).items()}
    assert close(await table_rows(db, ReportPauseDayRow), summed(pauses, lambda k: (local_day(k[0]), k[1], k[2])))
    days = {k[0] for k in await table_rows(db, ReportQueueDayRow)}
    # the month, and calls completed or agents still working past its last midnight
    month = (FIRST - EPOCH).days
    assert {month + n for n in range(DAYS)} <= days <= {month + n for n in range(DAYS + 1)}


async def test_a_rebuild_and_the_backfill_give_the_kept_rows(db: Database) -> None:
    async def everything() -> list[list[tuple[Any, ...]]]:
        found = []
        async with db.session() as session:
            for model in COARSE:
                table = model.__table__
                query = select(table).order_by(*table.primary_key.columns)
                found.append([rounded(r) for r in (await session.execute(query)).all()])
        return found

    kept = await everything()
    assert all(kept)
    totals = ReportTotals(db, THRESHOLDS)
    first, last = RANGES[1]
    # hours that are not whole local days: the rebuild widens them to the days they touch
    await totals.rebuild(int(midnight(first) // 3600) + 5, int(midnight(last) // 3600) + 2)
    assert await everything() == kept
    await totals.rebuild()
    assert await everything() == kept
    async with db.engine.begin() as connection:
        for model in COARSE:
            await connection.execute(delete(model))
        read = await connection.run_sync(lambda sync: coarse_from_hours_sync(sync, ZONE))
    assert read == len(await table_rows(db, ReportHourRow))
    assert await everything() == kept


async def test_reports_filtered_by_an_agent_read_the_daily_rows(db: Database) -> None:
    service = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: midnight(FIRST + dt.timedelta(days=40)),
                            QUEUES, "PJSIP/{extension}")
    first, last = RANGES[0]
    period = service.period(first, last)
    agent = "PJSIP/1003"
    days = await service.days_report(period, Filters(agent=agent))
    for row in days["days"]:
        day = dt.date.fromisoformat(row.pop("day"))
        full = expected_queue(RECORDS, midnight(day), midnight(day + dt.timedelta(days=1)), agent)
        assert same(row, {k: full[k] for k in row}), day
    hours = await service.hours(period, Filters(agent=agent))
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for r in RECORDS:
        if isinstance(r, CallAnswered) and r.interface == agent:
            local = dt.datetime.fromtimestamp(r.offered_at, TZ)
            cells[(local.isoweekday(), local.hour)] += 1
    assert {(c["weekday"], c["hour"]): c["answered"] for c in hours["cells"] if c["answered"]} == dict(cells)
    assert all(c["offered"] == 0 for c in hours["cells"])
    one = await service.agents(period, Filters(queue="repair"))
    talk: dict[str, float] = defaultdict(float)
    for r in RECORDS:
        if isinstance(r, CallCompleted) and r.queue == "repair" and midnight(first) <= r.at < midnight(
                last + dt.timedelta(days=1)):
            talk[r.interface] += r.talk_seconds
    shown = {a["agent"]: a["talk_seconds"] for a in one["agents"] if a["completed"]}
    assert shown == pytest.approx(dict(talk), abs=0.1)


def test_local_days_of_hours_and_their_first_hours() -> None:
    shanghai = LocalDays("Asia/Shanghai")
    day = (dt.date(2026, 3, 1) - EPOCH).days
    # 2026-03-01 00:00 in Shanghai is 2026-02-28 16:00 UTC
    first = int(dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC).timestamp() // 3600)
    assert shanghai.first_hour(day) == first
    assert (shanghai.of_hour(first - 1), shanghai.of_hour(first), shanghai.of_hour(first + 23)) == (day - 1, day, day)
    assert shanghai.whole_days(first + 5, first + 7) == (first, first + 24)
    # a day of 23 hours (spring forward) in New York; a half-hour zone's hours go to the day they start in
    york = LocalDays("America/New_York")
    spring = (dt.date(2026, 3, 8) - EPOCH).days
    assert york.first_hour(spring + 1) - york.first_hour(spring) == 23
    india = LocalDays("Asia/Kolkata")
    start = india.first_hour(day)
    assert start * 3600 == dt.datetime(2026, 2, 28, 19, tzinfo=dt.UTC).timestamp()
    assert india.of_hour(start) == day and india.of_hour(start - 1) == day - 1
