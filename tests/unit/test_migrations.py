"""Alembic migrations on an empty SQLite file and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer
from ctiserver.storage.database import Database, alembic_config, upgrade_schema
from ctiserver.tables import metadata
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

#: these tests are about the migrations themselves: never the suite's migrated copy
pytestmark = pytest.mark.real_migrations

TABLES = {
    "customers", "customer_phones", "products", "users", "agents", "calls",
    "tickets", "ticket_events", "ticket_counters", "callbacks", "voicemails",
    "flow_versions", "ivr_runs", "call_surveys", "knowledge_articles", "stats_records",
    "audit_events", "callback_attempts", "callback_misses", "product_models", "feed_cursors",
    "webhook_attempts", "visits", "visit_attempts", "user_sessions", "login_failures",
}


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _schema_state(connection: Connection) -> tuple[set[str], str | None, list[object]]:
    """Tables, current revision, and differences between the models and the migrated schema."""
    tables = set(inspect(connection).get_table_names())
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return tables, context.get_current_revision(), compare_metadata(context, metadata)


async def _check_schema(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            tables, revision, diffs = await connection.run_sync(_schema_state)
    finally:
        await db.close()
    assert TABLES <= tables
    assert revision == _head(url)
    assert diffs == [], "models and migrations disagree"


async def _chinese_round_trip(url: str) -> None:
    db = Database(url)
    started = dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    try:
        async with db.session() as session:
            customer = Customer(
                name="张伟", level="vip", province="广东省", city="深圳市", district="南山区",
                street="科技园南路", address_detail="15号 软件产业基地 4栋B座 「测试」😀",
            )
            session.add(customer)
            await session.flush()
            session.add(CallRow(linkedid="1714523400.1", caller_name="张伟", started_at=started,
                             customer_id=customer.id))
            await session.commit()
        async with db.session() as session:
            back = await session.scalar(select(Customer).where(Customer.name == "张伟"))
            call = await session.scalar(select(CallRow).where(CallRow.linkedid == "1714523400.1"))
    finally:
        await db.close()
    assert back is not None and call is not None
    assert (back.province, back.city, back.district) == ("广东省", "深圳市", "南山区")
    assert back.address_detail == "15号 软件产业基地 4栋B座 「测试」😀"
    assert call.caller_name == "张伟"
    assert call.started_at == started
    assert call.started_at.utcoffset() == dt.timedelta(0)


async def test_sqlite_upgrade_from_empty_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/not/yet/there/cti.sqlite3"
    await upgrade_schema(url)
    assert (tmp_path / "not/yet/there/cti.sqlite3").is_file()
    await _check_schema(url)


async def test_sqlite_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    await upgrade_schema(url)
    await _check_schema(url)


async def test_sqlite_chinese_round_trip(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    await _chinese_round_trip(url)


async def test_postgres_upgrade_and_chinese_round_trip(
    postgres_server: PostgresServer,  # noqa: F811  (the imported fixture)
) -> None:
    url = await postgres_server.create_database("ctiserver_migrations")
    await upgrade_schema(url)
    await upgrade_schema(url)
    await _check_schema(url)
    await _chinese_round_trip(url)
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            encoding = await connection.scalar(text("SHOW server_encoding"))
    finally:
        await db.close()
    assert encoding == "UTF8"
