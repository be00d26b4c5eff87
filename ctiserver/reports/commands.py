"""``ctiserver reports rebuild [--from DAY] [--to DAY]``: the hourly totals of the reports
recounted from the stored statistics records (after changing a threshold, or to repair)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from ctiserver.settings import Settings


def add_reports(commands: Any) -> None:
    reports = commands.add_parser("reports", help="call-center reports")
    what = reports.add_subparsers(dest="what", required=True)
    rebuild = what.add_parser(
        "rebuild", help="recount the reports' hourly totals from the statistics records (default: all days)"
    )
    rebuild.add_argument("--from", dest="first", type=dt.date.fromisoformat, default=None,
                         help="first local day (YYYY-MM-DD) to recount")
    rebuild.add_argument("--to", dest="last", type=dt.date.fromisoformat, default=None,
                         help="last local day (YYYY-MM-DD, included) to recount")
    rebuild.set_defaults(handler=rebuild_command)


async def rebuild_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.reports.model import HOUR
    from ctiserver.reports.store import ReportTotals, thresholds
    from ctiserver.stats import HotlineDays
    from ctiserver.storage.database import Database, upgrade_schema
    from ctiserver.storage.leases import LeaseBusy, hold_once

    await upgrade_schema(settings.database.url, settings)
    days = HotlineDays(settings.hotline.timezone)
    first = None if args.first is None else int(days.midnight(args.first) // HOUR)
    end = None if args.last is None else int(-(-days.midnight(args.last + dt.timedelta(days=1)) // HOUR))
    db = Database(settings.database.url)
    try:
        # one rebuild at a time among the nodes (a lease: ctiserver.storage.leases)
        async with hold_once(settings.database.url, "reports-rebuild"):
            read = await ReportTotals(db, thresholds(settings)).rebuild(first, end)
    except LeaseBusy as exc:
        print(f"reports rebuild: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"reports rebuilt from {read} statistics record(s)")
    return 0
