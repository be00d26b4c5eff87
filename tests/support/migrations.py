"""Alembic to a given revision on a test database: the migrations' own tests go to the
revision before the one they test, add the rows it must carry over, then go on."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ctiserver.storage.database import alembic_config


async def upgrade_to(url: str, revision: str) -> None:
    """``alembic upgrade REVISION`` on ``url`` (``head`` too), on a connection of our own."""
    config = alembic_config(url)

    def run(connection: Connection, cfg: Config) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run, config)
    finally:
        await engine.dispose()
