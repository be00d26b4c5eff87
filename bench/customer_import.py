"""Customer import and export speed: N generated customers (two products each, two phones
per cell), parsed, imported into SQLite in a temporary directory (or ``--database URL``),
imported again (nothing added), then exported to CSV. Prints rows per second of each step.

    python bench/customer_import.py [--customers 5000] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctiserver.spreadsheets.exports import CsvExports  # noqa: E402
from ctiserver.spreadsheets.model import parse_customers  # noqa: E402
from ctiserver.spreadsheets.store import CustomerImport  # noqa: E402
from ctiserver.storage.database import Database, upgrade_schema  # noqa: E402


def generated(customers: int) -> str:
    lines = ["姓名,电话,省,市,区,街道,详细地址,级别,型号,序列号,安装日期"]
    for i in range(customers):
        phones = f"139{i:08d}；+852 9123{i % 10_000:04d}"
        for product in range(2):
            lines.append(f"客户{i},{phones},广东省,深圳市,南山区,科技园,{i}号,普通,"
                         f"KFR-{product},SN{i:07d}-{product},2024-01-{product + 1:02d}")
    return "\n".join(lines) + "\n"


async def main(customers: int, url: str) -> None:
    await upgrade_schema(url)
    db = Database(url)
    try:
        text = generated(customers)
        rows = customers * 2
        start = time.perf_counter()
        parsed = parse_customers(text)
        parse_s = time.perf_counter() - start
        assert not parsed.problems, parsed.problems[:3]
        importer = CustomerImport(db)
        for label in ("import", "import again"):
            start = time.perf_counter()
            report = await importer.run(parsed.rows)
            took = time.perf_counter() - start
            print(f"{label:>13}: {rows} rows in {took:.2f} s, {rows / took:.0f} rows/s "
                  f"({report.customers} customers, {report.products} products added)")
        print(f"{'parse':>13}: {rows} rows in {parse_s:.2f} s, {rows / parse_s:.0f} rows/s")
        start = time.perf_counter()
        size = 0
        async for part in CsvExports(db, "Asia/Shanghai").stream("customers"):
            size += len(part)
        took = time.perf_counter() - start
        print(f"{'export':>13}: {rows} rows ({size} bytes) in {took:.2f} s, {rows / took:.0f} rows/s")
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.customers, args.database or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"))
