"""Call-center reports on a year of a busy hotline, on SQLite and on PostgreSQL.

    python bench/reports.py [--calls 1000000] [--days 365] [--agents 60] [--runs 20]
                            [--backend sqlite|postgres|both]

Seeds the reports' totals (hourly: ``report_hours``, ``report_pauses``; and the coarser
levels: ``report_days``, ``report_queue_days``, ``report_queue_hours``, ``report_pause_days``)
of ``--calls`` generated calls over ``--days`` days (tests/reports_seed.py: the same
generator as the tests, counted by the same ``HourlyTotals`` and ``CoarseTotals``), in
bulk (executemany on SQLite, COPY on PostgreSQL), then times every report over ``--runs``
ranges (one day to the whole year, a third of them filtered by a queue or an agent): median and p99 per report.
The raw statistics records are not seeded: the reports never read them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctiserver.reports.model import (
    CALL_COLUMNS,
    MAX_COLUMNS,
    QUEUE_LEVEL_COLUMNS,
    STATE_COLUMNS,
    SUM_COLUMNS,
    CoarseTotals,
    HourlyTotals,
    LocalDays,
    Thresholds,
    combine,
)
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import REPORTS, Filters, ReportService
from ctiserver.stats.days import HotlineDays
from ctiserver.storage.database import Database, upgrade_schema
from tests.reports_seed import QUEUES, ZONE, agents, day_records

COLUMNS = ("hour", "queue", "agent", *CALL_COLUMNS, *SUM_COLUMNS, *MAX_COLUMNS, *STATE_COLUMNS)
DAY_COLUMNS = ("day", *COLUMNS[1:])
Rows = list[tuple[Any, ...]]
FIRST = dt.date(2025, 1, 1)


def _cells(values: dict[str, float], names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(int(values.get(c, 0)) if c in CALL_COLUMNS else values.get(c, 0.0) for c in names)


def generate(args: argparse.Namespace) -> tuple[dict[str, tuple[tuple[str, ...], Rows]], int]:
    """Every table's columns and rows (hourly and the coarser levels), and how many calls
    were generated."""
    rng = random.Random(13)
    per_day = args.calls // args.days
    thresholds = Thresholds(timezone=ZONE)
    year = HourlyTotals(thresholds)
    calls = 0
    for n in range(args.days):
        totals = HourlyTotals.of(day_records(FIRST + dt.timedelta(days=n), per_day, args.agents, rng), thresholds)
        calls += per_day
        for key, values in totals.rows.items():
            combine(year.rows.setdefault(key, {}), values)
        for key, seconds in totals.pauses.items():
            year.pauses[key] = year.pauses.get(key, 0.0) + seconds
    coarse = CoarseTotals.of(year, LocalDays(ZONE))
    queue_columns = ("queue", *QUEUE_LEVEL_COLUMNS)
    tables: dict[str, tuple[tuple[str, ...], Rows]] = {
        "report_hours": (COLUMNS, [(*k, *_cells(v, COLUMNS[3:])) for k, v in year.rows.items()]),
        "report_pauses": (("hour", "agent", "reason", "seconds"), [(*k, s) for k, s in year.pauses.items()]),
        "report_days": (DAY_COLUMNS, [(*k, *_cells(v, DAY_COLUMNS[3:])) for k, v in coarse.days.items()]),
        "report_queue_days": (("day", *queue_columns),
                              [(*k, *_cells(v, QUEUE_LEVEL_COLUMNS)) for k, v in coarse.queue_days.items()]),
        "report_queue_hours": (("hour", *queue_columns),
                               [(*k, *_cells(v, QUEUE_LEVEL_COLUMNS)) for k, v in coarse.queue_hours.items()]),
        "report_pause_days": (("day", "agent", "reason", "seconds"),
                              [(*k, s) for k, s in coarse.pause_days.items()]),
    }
    return tables, calls


async def seed(url: str, tables: dict[str, tuple[tuple[str, ...], Rows]]) -> float:
    began = time.perf_counter()
    await upgrade_schema(url)
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.split("///", 1)[1])
        with connection:
            for table, (columns, rows) in tables.items():
                marks = ",".join("?" * len(columns))
                connection.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
        connection.execute("ANALYZE")
        connection.close()
    else:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            for table, (columns, rows) in tables.items():
                await connection.copy_records_to_table(table, records=rows, columns=list(columns))
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    return time.perf_counter() - began


async def measure(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    db = Database(url)
    last = FIRST + dt.timedelta(days=args.days - 1)
    service = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: HotlineDays(ZONE).midnight(last) + 3600,
                            QUEUES, "PJSIP/{extension}")
    rng = random.Random(7)
    names = agents(args.agents)
    times: dict[str, list[float]] = {name: [] for name in REPORTS}
    try:
        await service.report("queues", service.period(FIRST, last), Filters())  # warm the connection
        for run in range(args.runs):
            length = args.days if run % 4 == 0 else min(args.days, rng.choice((1, 7, 31, 92, 183)))
            first = FIRST + dt.timedelta(days=rng.randrange(0, args.days - length + 1))
            period = service.period(first, first + dt.timedelta(days=length - 1))
            filters = [Filters(), Filters(), Filters(queue=rng.choice(QUEUES)), Filters(agent=rng.choice(names))][run % 4]
            for name in REPORTS:
                began = time.perf_counter()
                await service.report(name, period, filters)
                times[name].append(time.perf_counter() - began)
    finally:
        await db.close()
    print(f"  load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def show(backend: str, seeded: float, times: dict[str, list[float]]) -> None:
    print(f"{backend}: seeded in {seeded:.1f} s")
    for name, values in times.items():
        print(f"  {name:7} median {1000 * statistics.median(values):7.1f} ms   p99 {1000 * p99(values):7.1f} ms"
              f"   ({len(values)} runs)")


async def main(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    tables, calls = generate(args)
    counts = ", ".join(f"{len(rows)} {table}" for table, (_, rows) in tables.items())
    print(f"generated {calls} calls over {args.days} days, {args.agents} agents: {counts} "
          f"in {time.perf_counter() - began:.1f} s")
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")

    async def run(backend: str, url: str) -> None:
        show(backend, await seed(url, tables), await measure(url, args))

    await each_backend(args.backend, "reports", run)


async def each_backend(which: str, name: str, run: Callable[[str, str], Awaitable[None]]) -> None:
    """``run(backend, url)`` on a fresh SQLite file and/or a throw-away local PostgreSQL
    (``which``: sqlite, postgres or both), as the tests start one."""
    with tempfile.TemporaryDirectory() as tmp:
        if which in ("sqlite", "both"):
            await run("SQLite", f"sqlite+aiosqlite:///{tmp}/{name}.sqlite3")
        if which in ("postgres", "both"):
            from tests.pg import find_bindir, running_postgres

            bindir = find_bindir()
            if bindir is None:
                print("PostgreSQL: no server binaries found (set PG_BINDIR)")
                return
            with running_postgres(bindir) as server:
                await run("PostgreSQL", await server.create_database(name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    asyncio.run(main(parser.parse_args()))
