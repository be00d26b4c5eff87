"""A migrated SQLite database made once per test process, copied for every new test database.

Every database test used to replay all the Alembic migrations on an empty file (over a
second each on the loaded CI machine). The suite instead runs them once, for real, into a
template file, and ``upgrade_schema`` on a new, empty SQLite file copies that template
(``ctiserver.storage.database.migrated_copy``, installed by tests/conftest.py). A database
that already exists (a test that went to an older revision first, a server restarted on its
file) is still upgraded by Alembic, and tests marked ``real_migrations`` (the migrations'
own tests) never take the copy. PostgreSQL databases always run the migrations.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import make_url

from ctiserver.storage import database


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite file URL; None for PostgreSQL, in-memory and URI databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


class MigratedTemplate:
    """The once-migrated file, made on first use in a directory removed at the session's end."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._file: Path | None = None

    async def file(self) -> Path:
        if self._file is None:
            self._dir = Path(tempfile.mkdtemp(prefix="ctiserver-schema-"))
            template = self._dir / "migrated.sqlite3"
            hook, database.migrated_copy = database.migrated_copy, None
            try:
                await database.upgrade_schema(f"sqlite+aiosqlite:///{template}")
            finally:
                database.migrated_copy = hook
            # everything in the main file, so that copying the file alone copies the database
            connection = sqlite3.connect(template)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            self._file = template
        return self._file

    async def copy_to(self, url: str) -> bool:
        """A new, empty SQLite file becomes a copy of the template (True); anything else: False."""
        target = sqlite_file(url)
        if target is None or (target.exists() and target.stat().st_size > 0):
            return False
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            if leftover.exists():
                return False
        shutil.copyfile(await self.file(), target)
        return True

    def remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
