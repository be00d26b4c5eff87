"""Alembic environment: async engines (sqlite+aiosqlite, postgresql+asyncpg).

Two ways in:
  * ``upgrade_schema()`` in the server passes an open connection in
    ``config.attributes["connection"]``; migrations run on it.
  * the ``alembic`` command line: an async engine is built from the URL, which is
    ``-x url=...``, else ``sqlalchemy.url`` in alembic.ini, else the ctiserver settings.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ctiserver.settings import load_settings
from ctiserver.storage.database import ensure_sqlite_directory
from ctiserver.tables import metadata

config = context.config
target_metadata = metadata
#: how a migration that needs the settings (thresholds, the hotline's time zone) gets them when
#: the server did not pass its own in ``config.attributes["settings"]``: migrations import
#: nothing of ctiserver, so that each means forever what it meant
config.attributes.setdefault("load_settings", load_settings)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    return url or load_settings().database.url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies tables instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = _url()
    ensure_sqlite_directory(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


shared_connection = config.attributes.get("connection")
if shared_connection is not None:
    _configure(shared_connection)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        _run_offline()
    else:
        asyncio.run(_run_online())
