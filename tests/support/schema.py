"""A migrated SQLite database made once per test process, copied for every new test database.

Every database test used to replay all the Alembic migrations on an empty file (over a
second each on the loaded CI machine). The suite instead runs them once, for real, into a
template file, and ``upgrade_schema`` on a new, empty SQLite file copies that template
(``ctiserver.storage.database.migrated_copy``, installed by tests/conftest.py). A database
that already exists (a test that went to an older revision first, a server restarted on its
file) is still upgraded by Alembic, and tests marked ``real_migrations`` (the migrations'
own tests) never take the copy. On PostgreSQL the same holds with a template database
per server: an empty database is dropped and made again from the migrated template
(``CREATE DATABASE ... TEMPLATE``); if anything holds it open, the migrations run instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import URL, make_url

from ctiserver.storage import database


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite file URL; None for PostgreSQL, in-memory and URI databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


#: the migrated template database on each PostgreSQL test server
PG_TEMPLATE = "ctiserver_migrated_template"


async def _migrate(url: str) -> None:
    """The real migrations, whatever hook is installed."""
    hook, database.migrated_copy = database.migrated_copy, None
    try:
        await database.upgrade_schema(url)
    finally:
        database.migrated_copy = hook


class MigratedTemplate:
    """The once-migrated file, made on first use in a directory removed at the session's end."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._file: Path | None = None
        #: (host, port) of the PostgreSQL servers that hold a template
        self._pg_servers: set[tuple[str | None, int | None]] = set()

    async def file(self) -> Path:
        if self._file is None:
            self._dir = Path(tempfile.mkdtemp(prefix="ctiserver-schema-"))
            template = self._dir / "migrated.sqlite3"
            await _migrate(f"sqlite+aiosqlite:///{template}")
            # everything in the main file, so that copying the file alone copies the database
            connection = sqlite3.connect(template)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            self._file = template
        return self._file

    def seed(self, target: Path) -> None:
        """Put a copy of the template at ``target`` unless a database is there already: for a
        ``ctiserver`` process a test starts, which has no hook of its own (its upgrade then
        finds the database at head and does nothing)."""
        if target.exists():
            return
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callable inside a running loop too
            template = pool.submit(asyncio.run, self.file()).result()
        shutil.copyfile(template, target)

    async def copy_to(self, url: str) -> bool:
        """A new, empty SQLite file becomes a copy of the template (True); anything else: False."""
        target = sqlite_file(url)
        if target is None:
            parsed = make_url(url)
            return parsed.get_backend_name() == "postgresql" and await self._postgres_copy(parsed)
        if target.exists() and target.stat().st_size > 0:
            return False
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            if leftover.exists():
                return False
        shutil.copyfile(await self.file(), target)
        return True

    async def _postgres_copy(self, url: URL) -> bool:
        import asyncpg

        name = url.database or ""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in ("postgres", PG_TEMPLATE):
            return False
        where = {"host": url.host, "port": url.port, "user": url.username, "password": url.password}
        target = await asyncpg.connect(database=name, **where)
        try:
            tables = await target.fetchval(
                "SELECT count(*) FROM pg_catalog.pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        finally:
            await target.close()
        if tables:
            return False
        server = (url.host, url.port)
        if server not in self._pg_servers:
            admin = await asyncpg.connect(database="postgres", **where)
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE}")
                await admin.execute(f"CREATE DATABASE {PG_TEMPLATE} ENCODING 'UTF8' TEMPLATE template0")
            finally:
                await admin.close()
            await _migrate(url.set(database=PG_TEMPLATE).render_as_string(hide_password=False))
            self._pg_servers.add(server)
        admin = await asyncpg.connect(database="postgres", **where)
        try:
            try:
                await admin.execute(f"DROP DATABASE {name}")
            except asyncpg.PostgresError:
                return False  # someone holds it open: the migrations, as without the template
            try:
                await admin.execute(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}")
            except asyncpg.PostgresError:
                await admin.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
                return False
        finally:
            await admin.close()
        return True

    def remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
