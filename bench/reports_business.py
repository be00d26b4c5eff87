"""The business reports on a year of tickets, on SQLite and on PostgreSQL.

    python bench/reports_business.py [--tickets 200000] [--customers 100000] [--runs 5]
                                     [--backend sqlite|postgres|both]

Seeds ``--tickets`` tickets over 365 days (tests/business_seed.py, the tests' generator:
customers and their products, tickets of every kind with their events, calls and surveys),
then times each business report over ``--runs`` ranges (the whole year, a quarter, a
month, a week; every other one filtered by a province, a model or a department): median
and slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reports import each_backend
from ctiserver.reports.business import BusinessFilters, BusinessQueries
from ctiserver.reports.model.business import BUSINESS_REPORTS
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService
from ctiserver.stats.days import HotlineDays
from ctiserver.storage.database import Database, upgrade_schema
from tests.business_seed import MODELS, business_rows, write

ZONE = "Asia/Shanghai"
FIRST = dt.date(2025, 1, 1)
START = dt.datetime(2025, 1, 1, tzinfo=ZoneInfo(ZONE)).astimezone(dt.UTC)


async def seed(url: str, rows: Any) -> float:
    began = time.perf_counter()
    await upgrade_schema(url)
    db = Database(url)
    try:
        await write(db.engine, rows)
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
    finally:
        await db.close()
    return time.perf_counter() - began


async def measure(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    db = Database(url)
    service = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: START.timestamp() + 366 * 86400, (),
                            "PJSIP/{extension}", BusinessQueries(db))
    rng = random.Random(3)
    times: dict[str, list[float]] = {name: [] for name in BUSINESS_REPORTS}
    try:
        for run in range(args.runs):
            length = (365, 92, 31, 7)[run % 4]
            first = FIRST + dt.timedelta(days=rng.randrange(0, 365 - length + 1))
            period = service.period(first, first + dt.timedelta(days=length - 1))
            filters = [BusinessFilters(), BusinessFilters(province="广东省"), BusinessFilters(),
                       BusinessFilters(model=rng.choice(MODELS)), BusinessFilters(),
                       BusinessFilters(department="repair")][run % 6]
            for name in BUSINESS_REPORTS:
                began = time.perf_counter()
                await service.business_report(name, period, filters)
                times[name].append(time.perf_counter() - began)
    finally:
        await db.close()
    return times


def show(backend: str, seeded: float, times: dict[str, list[float]]) -> None:
    print(f"{backend}: seeded in {seeded:.1f} s; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for name, values in times.items():
        print(f"  {name:18} median {1000 * statistics.median(values):7.1f} ms   slowest {1000 * max(values):7.1f} ms"
              f"   ({len(values)} runs)")


async def main(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    rows = business_rows(START, 365, args.tickets // 365, args.customers)
    counts = ", ".join(f"{len(values)} {model.__tablename__}" for model, values in rows.items())
    print(f"generated {counts} in {time.perf_counter() - began:.1f} s; "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")

    async def run(backend: str, url: str) -> None:
        show(backend, await seed(url, rows), await measure(url, args))

    await each_backend(args.backend, "business", run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    asyncio.run(main(parser.parse_args()))
