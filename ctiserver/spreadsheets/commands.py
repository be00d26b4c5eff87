"""``ctiserver import customers [--encoding E] [--sheet S] FILE.csv|FILE.xlsx`` and ``ctiserver export
customers|tickets|calls [--from DAY] [--to DAY] [--format csv|xlsx] FILE`` (the format by the file's
suffix when not given).

Exit codes: 0 done, 1 refused (the file, or any of its rows), 2 a usage error (argparse)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from ctiserver.settings import Settings
from ctiserver.spreadsheets.kinds import EXPORTS

# (the rest of the feature, its database and Excel libraries included, is imported by the
# commands when they run: every other `ctiserver` command starts without them)

#: the largest file the import reads (the page's upload has its own, smaller limit)
MAX_FILE = 200 * 1024 * 1024


def add_spreadsheets(commands: Any) -> None:
    importing = commands.add_parser("import", help="import customers from a CSV file or an Excel workbook")
    what = importing.add_subparsers(dest="what", required=True)
    customers = what.add_parser(
        "customers", help="one row per product owned; exit 1 if the file or any row is refused"
    )
    customers.add_argument("file", help="the CSV file or Excel workbook (.xlsx, told by its content)")
    customers.add_argument("--encoding", default=None,
                           help="a CSV file's encoding (gb18030, big5, utf-8, utf-16...); found when not given")
    customers.add_argument("--sheet", default=None, help="the workbook's sheet to read (the first when not given)")
    customers.set_defaults(handler=import_command)
    exporting = commands.add_parser("export", help="write customers, tickets or calls to a CSV file or workbook")
    exporting.add_argument("what", choices=EXPORTS)
    exporting.add_argument("file", help="the file to write: CSV (UTF-8 with BOM), or .xlsx")
    exporting.add_argument("--format", choices=("csv", "xlsx"), default=None,
                           help="the file's format; by its suffix when not given (.xlsx, else CSV)")
    exporting.add_argument("--from", dest="first", type=dt.date.fromisoformat, default=None,
                           help="first local day, YYYY-MM-DD (created, or the call's start)")
    exporting.add_argument("--to", dest="last", type=dt.date.fromisoformat, default=None,
                           help="last local day, YYYY-MM-DD, included")
    exporting.add_argument("--headers", choices=("labels", "codes"), default="labels",
                           help="the first row: the columns named in --lang, the cells' codes said alike"
                                " (labels, the default), or the codes (for integrations)")
    exporting.add_argument("--lang", choices=("zh", "en"), default="zh",
                           help="the language of the labels (zh, the default, or en)")
    exporting.set_defaults(handler=export_command)


def _read(path: str) -> bytes:
    file = Path(path)
    if file.stat().st_size > MAX_FILE:
        raise ValueError(f"larger than the limit of {MAX_FILE // (1024 * 1024)} MB")
    return file.read_bytes()


async def import_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.spreadsheets.model import UnreadableFile, decode
    from ctiserver.spreadsheets.store import CustomerImport
    from ctiserver.spreadsheets.workbooks import check_zip, is_workbook, read_customers
    from ctiserver.storage.database import Database, upgrade_schema

    try:
        data = await asyncio.to_thread(_read, args.file)
        if is_workbook(data):
            check_zip(data)
        else:  # the encoding checked before the database is opened
            await asyncio.to_thread(decode, data, args.encoding)
    except OSError as exc:
        print(f"ctiserver: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # UnreadableFile, or too large
        print(f"ctiserver: {args.file}: {exc}", file=sys.stderr)
        return 1
    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    try:
        # on SQLite, a moment between turns for the writers of a server running beside
        importer = CustomerImport(db, pause=0.02 if db.engine.dialect.name == "sqlite" else 0.0)
        parsed = await asyncio.to_thread(
            read_customers, data, encoding=args.encoding, sheet=args.sheet, region=settings.hotline.region,
            catalogue=await importer.catalogue(),
        )
        report = await importer.run(parsed.rows, parsed.problems)
    except UnreadableFile as exc:
        print(f"ctiserver: {args.file}: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print("\n".join(report.lines()), flush=True)
    return 1 if report.problems else 0


async def export_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.spreadsheets.exports import CsvExports, ExportHead, ExportRange
    from ctiserver.storage.database import Database, upgrade_schema

    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    size = 0
    period = ExportRange(args.first, args.last)
    head = ExportHead(args.headers, args.lang)
    exports = CsvExports(db, settings.hotline.timezone)
    try:
        if (args.format or ("xlsx" if args.file.lower().endswith(".xlsx") else "csv")) == "xlsx":
            await exports.write_xlsx(args.what, args.file, period, head)
            size = (await asyncio.to_thread(Path(args.file).stat)).st_size
        else:
            with open(args.file, "wb") as out:  # noqa: ASYNC230  (a local file, written part by part)
                async for part in exports.stream(args.what, period, head):
                    await asyncio.to_thread(out.write, part)
                    size += len(part)
    except OSError as exc:
        print(f"ctiserver: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"{args.what}: {size} bytes written to {args.file}")
    return 0
