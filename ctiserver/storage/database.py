"""The async engine and sessions, and schema upgrades through Alembic."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ctiserver.resources import migrations_dir


class Database:
    """One engine per process; ``async with db.session() as s:`` for a unit of work."""

    def __init__(self, url: str, echo: bool = False) -> None:
        ensure_sqlite_directory(url)
        self.url = url
        self.engine = create_async_engine(url, echo=echo)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    def session(self) -> AsyncSession:
        return self._sessions()

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around a short write transaction that others wait for (a ticket's open or change).

        SQLite has one writer at a time, and a connection that finds the database locked
        polls for it (sleeping 1 ms, then up to 100 ms between tries): writers of this process
        that take turns here instead start the moment the previous one committed, in the
        order they came. Other processes and other writers still meet SQLite's lock. On
        PostgreSQL (row locks) this does nothing.
        """
        if self._writer is None:
            yield
            return
        async with self._writer:
            yield

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: SQLite ignores FOREIGN KEY clauses unless asked.

    WAL lets readers (screen pops, the agent desk) go on while a call is being
    written, and a busy timeout makes a writer wait for another instead of failing.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def ensure_sqlite_directory(url: str) -> None:
    """A SQLite file URL whose directory does not exist yet gets it created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration aimed at ``url``, whatever the current directory."""
    db_dir = migrations_dir()
    config = Config(str(db_dir / "alembic.ini"))
    config.set_main_option("script_location", str(db_dir / "migrations"))
    # ConfigParser interpolation would eat a "%" in an escaped password
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


#: A hook for the test suite only (tests/support/schema.py), never set by the server: given
#: a database URL, it may make that new, empty database the copy of one the migrations
#: built once, and say so (True); ``upgrade_schema`` then has nothing left to do. Replaying
#: every migration for each of hundreds of test databases was most of the unit tests' time.
migrated_copy: Callable[[str], Awaitable[bool]] | None = None


async def upgrade_schema(url: str, settings: object | None = None) -> None:
    """``alembic upgrade head`` on ``url``, on a connection of our own async engine.

    env.py sees the connection in ``config.attributes`` and runs the migrations on it
    instead of building an engine (and an event loop) of its own. A migration that
    derives data by the settings (the report totals' thresholds) finds ``settings`` there.
    """
    ensure_sqlite_directory(url)
    if migrated_copy is not None and await migrated_copy(url):
        return
    config = alembic_config(url)
    if settings is not None:
        config.attributes["settings"] = settings
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config) -> None:
    # A database already at the head is left as it is without running env.py, which imports
    # every feature's tables for its metadata (a second of every command and server start).
    if set(MigrationContext.configure(connection).get_current_heads()) == set(
        ScriptDirectory.from_config(config).get_heads()
    ):
        return
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
