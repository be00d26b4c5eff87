"""``ctiserver recordings reconcile``: files of the recordings directory with no row in the
index, and rows whose file is gone."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctiserver.settings import Settings

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
