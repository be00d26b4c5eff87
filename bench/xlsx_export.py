"""Customer export as an Excel workbook: N customers (one product and one phone each, Chinese
text, every tenth name looking like a formula) stored straight into SQLite in a temporary
directory (or ``--database URL``), then exported with ``CsvExports.write_xlsx`` (openpyxl's
write-only mode) to a file, and to CSV for comparison. Prints the time, the file's size and
the peak memory of each export: Python's allocations (tracemalloc, which slows the run) and
the process's resident peak (getrusage), which should not grow with N.

    python bench/xlsx_export.py [--customers 100000] [--database URL] [--no-tracemalloc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from ctiserver.customers.tables import Customer, CustomerPhone, Product
from ctiserver.spreadsheets.exports import CsvExports
from ctiserver.storage.database import Database, upgrade_schema

BATCH = 5000


async def seed(db: Database, customers: int) -> None:
    """The customers inserted in batches (the import's checks are not what is measured here)."""
    created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    async with db.engine.begin() as conn:
        for first in range(1, customers + 1, BATCH):
            ids = range(first, min(first + BATCH, customers + 1))
            await conn.execute(insert(Customer), [{
                "id": i, "name": f"=客户{i}" if i % 10 == 0 else f"客户{i}", "level": "normal",
                "province": "广东省", "city": "深圳市", "district": "南山区", "street": "科技园",
                "address_detail": f"科技南路{i}号 一栋二单元", "created_at": created,
            } for i in ids])
            await conn.execute(insert(CustomerPhone), [
                {"customer_id": i, "number": f"139{i:08d}", "normalized": f"139{i:08d}"} for i in ids])
            await conn.execute(insert(Product), [{
                "customer_id": i, "category": "空调", "model": "KFR-35GW", "serial": f"SN{i:09d}",
                "installed_on": dt.date(2023, 1 + i % 12, 1 + i % 28),
            } for i in ids])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(label: str, run: object, trace: bool) -> None:
    before = rss_mb()
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    size = await run()  # type: ignore[operator]
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024) if trace else float("nan")
    if trace:
        tracemalloc.stop()
    print(f"{label:>5}: {took:.1f} s, {size / (1024 * 1024):.1f} MB written, "
          f"Python peak {peak:.1f} MB (tracemalloc), resident peak {rss_mb():.0f} MB (before: {before:.0f} MB)")


async def main(customers: int, url: str, tmp: Path, trace: bool) -> None:
    await upgrade_schema(url)
    db = Database(url)
    try:
        start = time.perf_counter()
        await seed(db, customers)
        print(f"seeded {customers} customers in {time.perf_counter() - start:.1f} s")
        exports = CsvExports(db, "Asia/Shanghai")

        async def xlsx() -> int:
            target = tmp / "customers.xlsx"
            rows = await exports.write_xlsx("customers", str(target))
            assert rows == customers, rows
            return target.stat().st_size

        async def csv() -> int:
            size = 0
            with open(tmp / "customers.csv", "wb") as out:  # noqa: ASYNC230
                async for part in exports.stream("customers"):
                    out.write(part)
                    size += len(part)
            return size

        await measure("xlsx", xlsx, trace)
        await measure("csv", csv, trace)
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--no-tracemalloc", dest="trace", action="store_false")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.customers, args.database or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                         Path(tmp), args.trace))
