"""Migration 0013: phones stored with the hand-written keys get phonenumbers' keys."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ctiserver.customers.phones import normalize_phone
from ctiserver.customers.store import CustomerRepository
from ctiserver.storage.database import Database, alembic_config

#: number as written -> the key the hand-written rules gave it
OLD_KEYS = {
    "+86 138-0013-8000": "13800138000",
    "010-6552 8899": "01065528899",
    "+852 9123 4567": "85291234567",
    "00886 912 345 678": "00886912345678",
    "+1 (650) 253-0000": "16502530000",
    "99999": "99999",
}


async def _upgrade(url: str, revision: str, downgrade: bool = False) -> None:
    config = alembic_config(url)

    def run(connection: Connection, cfg: Config) -> None:
        cfg.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run, config)
    finally:
        await engine.dispose()


async def _keys(db: Database) -> dict[str, str]:
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT number, normalized FROM customer_phones"))).all()
    return {row.number: row.normalized for row in rows}


async def test_phones_are_rekeyed_and_foreign_callers_found(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await _upgrade(url, "0008_recordings")
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO customers (id, name, level) VALUES (1, '陈大文', 'normal')"))
            for number, key in OLD_KEYS.items():
                await connection.execute(
                    text("INSERT INTO customer_phones (customer_id, number, normalized) VALUES (1, :n, :k)"),
                    {"n": number, "k": key},
                )
        await _upgrade(url, "head")
        keys = await _keys(db)
        assert keys == {number: normalize_phone(number) for number in OLD_KEYS}
        assert keys["+852 9123 4567"] == "+85291234567"
        assert keys["+86 138-0013-8000"] == "13800138000"
        customers = CustomerRepository(db)
        for caller in ("0085291234567", "+886912345678", "0016502530000", "8613800138000"):
            assert [c.name for c in await customers.find_by_phone(caller)] == ["陈大文"], caller
        await _upgrade(url, "0008_recordings", downgrade=True)
        assert await _keys(db) == OLD_KEYS
    finally:
        await db.close()
