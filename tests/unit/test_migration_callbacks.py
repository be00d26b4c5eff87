"""Migration 0007 on callback requests stored before it, on SQLite and PostgreSQL: they
become pending (or connected) tasks with their number key, source and expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ctiserver.callbacks.model import Miss, Source
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.storage.database import Database
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.migrations import upgrade_to as _upgrade

T = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
INSERT = (
    "INSERT INTO callbacks (number, customer_id, call_linkedid, reason, status, requested_at, due_at, attempts)"
    " VALUES (:number, NULL, :linkedid, :reason, :status, :at, :at, 0)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.create_database("ctiserver_migration_0007")


async def test_requests_stored_before_become_tasks(old_url: str) -> None:
    from sqlalchemy import text

    await _upgrade(old_url, "0006_audit_events")
    db = Database(old_url)
    try:
        async with db.session() as session:
            for number, status, linkedid in [
                ("+86 138-0013-8000", "pending", "c1"), ("010 6552 8899", "in_progress", "c2"),
                ("13900139000", "done", "c3"),
            ]:
                await session.execute(text(INSERT), {
                    "number": number, "linkedid": linkedid, "reason": "夜间来电，请回电", "status": status,
                    "at": T if db.engine.dialect.name == "postgresql" else T.replace(tzinfo=None),
                })
            await session.commit()
        await _upgrade(old_url, "head")
        store = CallbackRepository(db)
        tasks = sorted(await store.search(), key=lambda t: t.id)
        assert [(t.number, t.status, t.source, t.misses) for t in tasks] == [
            ("+86 138-0013-8000", "pending", "requested", 1),
            ("010 6552 8899", "pending", "requested", 1),
            ("13900139000", "connected", "requested", 1),
        ]
        assert all(t.missed_at == T and t.expires_at == T + dt.timedelta(hours=48) for t in tasks)
        assert tasks[0].reason == "夜间来电，请回电"
        # the number key was filled: a new miss of the same phone joins the old request
        joined, new = await store.record_miss(Miss("13800138000", Source.ABANDONED, T.timestamp() + 60))
        assert not new and joined.id == tasks[0].id and joined.misses == 2
        (found,) = await store.search(number="0106552 8899")
        assert found.id == tasks[1].id
    finally:
        await db.close()


async def test_downgrade_to_0006_and_back(old_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import create_async_engine

    from ctiserver.storage.database import alembic_config

    async def downgrade(url: str, revision: str) -> None:
        def run(connection: Connection, cfg: Config) -> None:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)

        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(run, alembic_config(url))
        finally:
            await engine.dispose()

    await _upgrade(old_url, "head")
    db = Database(old_url)
    try:
        store = CallbackRepository(db)
        task, _ = await store.record_miss(Miss("13800138000", Source.ABANDONED, T.timestamp(), linkedid="c9"))
        claim = await store.claim("x", T.timestamp(), agent="1", channel_id="a")
        assert claim is None  # no queue x: stays pending
        await downgrade(old_url, "0006_audit_events")
        async with db.session() as session:
            status = await session.scalar(text("SELECT status FROM callbacks WHERE id = :id"), {"id": task.id})
        assert status == "pending"
        await _upgrade(old_url, "head")
        back = await store.get(task.id)
        assert back is not None and back.status == "pending" and back.number == "13800138000"
    finally:
        await db.close()
