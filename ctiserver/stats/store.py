"""The statistics log, stored: today's records are reloaded at start, past days reported."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.stats.model import Record, record_from_dict, record_to_dict
from ctiserver.stats.tables import StatsRecordRow
from ctiserver.storage.database import Database
from ctiserver.storage.upsert import dialect_insert


def record_key(data: Mapping[str, Any]) -> str:
    """The record's identity: a hash of its ``record_to_dict`` (keys sorted, compact JSON).

    Two records with the same fields are the same fact (the same offer, the same
    interval), so the key makes storing a record again (a retried batch, a replayed
    journal) a no-op. Migration 0005 computes the same key for the rows before it.
    """
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


#: told, in the storing transaction, of the records newly stored (derived tables)
StoredHook = Callable[[AsyncSession, Sequence[Record]], Awaitable[None]]


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._hooks: list[StoredHook] = []

    def on_stored(self, hook: StoredHook) -> None:
        """``hook`` runs in each storing transaction with the records not stored before, so
        what it writes commits with them or not at all (the report totals)."""
        self._hooks.append(hook)

    async def append(self, records: Sequence[Record]) -> None:
        """Store ``records`` in order, in one transaction; those already stored are skipped."""
        if not records:
            return
        rows = []
        new: dict[str, Record] = {}
        for record in records:
            data = record_to_dict(record)
            key = record_key(data)
            rows.append({"key": key, "at": record.at, "kind": record.kind, "data": data})
            new.setdefault(key, record)
        table = StatsRecordRow.__table__
        insert = dialect_insert(self._db, table).on_conflict_do_nothing(
            index_elements=[table.c.key]
        )
        async with self._db.session() as session:
            if self._hooks:
                for stored in await session.scalars(select(table.c.key).where(table.c.key.in_(list(new)))):
                    new.pop(stored, None)
            await session.execute(insert, rows)
            for hook in self._hooks:
                await hook(session, list(new.values()))
            await session.commit()

    async def between(self, start: float, end: float) -> list[Record]:
        """Records that happened in [start, end), in the order they were stored."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(StatsRecordRow)
                .where(StatsRecordRow.at >= start, StatsRecordRow.at < end)
                .order_by(StatsRecordRow.id)
            )
            return [record_from_dict(row.data) for row in rows]
