"""``ctiserver recordings reconcile``: files of the recordings directory with no row in the
index, and rows whose file is gone. ``ctiserver recordings purge [--dry-run]``: the retention."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctiserver.settings import Settings
from ctiserver.storage.base import from_epoch

if TYPE_CHECKING:
    from ctiserver.storage.database import Database


@dataclass(frozen=True)
class Reconciliation:
    #: files (relative to the directory) no row names
    orphans: list[str]
    #: ids of rows whose file is not there
    lost: list[str]

    def lines(self, directory: Path) -> list[str]:
        out = [f"orphan file (no row): {directory / name}" for name in self.orphans]
        out += [f"row with no file: {rid}" for rid in self.lost]
        out.append(f"{len(self.orphans)} orphan file(s), {len(self.lost)} row(s) with no file")
        return out


async def reconcile(db: Database, directory: Path) -> Reconciliation:
    from ctiserver.recordings import model
    from ctiserver.recordings.files import date_tree
    from ctiserver.recordings.store import RecordingRepository

    files = await asyncio.to_thread(date_tree, directory)
    rows = await RecordingRepository(db).indexed_paths()
    orphans, lost = model.reconcile(files, rows)
    return Reconciliation(orphans, lost)


def add_recordings(commands: Any) -> None:
    recordings = commands.add_parser("recordings", help="call recordings: reconcile the files and the index")
    what = recordings.add_subparsers(dest="what", required=True)
    check = what.add_parser("reconcile", help="list files with no row and rows with no file; exit 1 if any")
    check.set_defaults(handler=reconcile_command)
    purging = what.add_parser(
        "purge", help="delete recordings older than recordings.retention_days (rows stay, marked deleted)"
    )
    purging.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    purging.set_defaults(handler=purge_command)


async def reconcile_command(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.storage.database import Database, upgrade_schema

    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    try:
        directory = await asyncio.to_thread(Path(settings.recordings.dir).resolve)
        result = await reconcile(db, directory)
    finally:
        await db.close()
    print("\n".join(result.lines(directory)), flush=True)
    return 1 if result.orphans or result.lost else 0


@dataclass(frozen=True)
class Purge:
    #: (id, call id, start, path) of each recording deleted (or that would be, dry)
    deleted: list[tuple[str, str, str, str]]
    #: ids kept although old: held by a supervisor or an open complaint
    kept: list[str]


async def purge(db: Database, directory: Path, *, retention_days: int, now: float, dry_run: bool) -> Purge:
    """Delete the files of recordings older than ``retention_days`` that nothing holds, and
    their cached MP3, Opus and waveform; their rows stay, marked deleted."""
    import datetime as dt

    from ctiserver.recordings.files import inside
    from ctiserver.recordings.media import remove_cached
    from ctiserver.recordings.model import purgeable
    from ctiserver.recordings.store import RecordingRepository

    index = RecordingRepository(db)
    moment = from_epoch(now)
    deleted: list[tuple[str, str, str, str]] = []
    kept: list[str] = []
    if retention_days <= 0:
        return Purge(deleted, kept)
    for row, complaint in await index.purge_candidates(moment - dt.timedelta(days=retention_days)):
        if not purgeable(started_at=row.started_at, now=moment, retention_days=retention_days, flag=row.flag,
                         hold=row.hold, open_complaint=complaint):
            kept.append(row.id)
            continue
        deleted.append((row.id, row.call_id, row.started_at.isoformat(timespec="seconds"), row.path))
        if dry_run:
            continue
        path = await asyncio.to_thread(inside, directory, row.path)
        if path is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        await asyncio.to_thread(remove_cached, directory, row.id)
        await index.mark_deleted(row.id)
    return Purge(deleted, kept)


async def purge_command(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from ctiserver.storage.database import Database, upgrade_schema
    from ctiserver.storage.leases import LeaseBusy, hold_once

    await upgrade_schema(settings.database.url)
    db = Database(settings.database.url)
    try:
        directory = await asyncio.to_thread(Path(settings.recordings.dir).resolve)
        # one purge at a time among the nodes (a lease: ctiserver.storage.leases)
        async with hold_once(settings.database.url, "recordings-purge"):
            result = await purge(db, directory, retention_days=settings.recordings.retention_days,
                                 now=time.time(), dry_run=args.dry_run)
    except LeaseBusy as exc:
        print(f"recordings purge: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    verb = "would delete" if args.dry_run else "deleted"
    for rid, call, started, path in result.deleted:
        print(f"{verb} {rid} (call {call}, {started}): {directory / path}")
    done = "would be deleted" if args.dry_run else "deleted"
    print(f"{len(result.deleted)} recording(s) {done}; {len(result.kept)} old one(s) kept "
          f"(held, or an open complaint); retention {settings.recordings.retention_days} days", flush=True)
    return 0
