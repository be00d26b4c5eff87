"""The statistics log, stored: today's records are reloaded at start, past days reported."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from ctiserver.stats.model import Record, record_from_dict, record_to_dict
from ctiserver.stats.tables import StatsRecordRow
from ctiserver.storage.database import Database


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, records: Sequence[Record]) -> None:
        if not records:
            return
        async with self._db.session() as session:
            await session.execute(
                insert(StatsRecordRow),
                [{"at": r.at, "kind": r.kind, "data": record_to_dict(r)} for r in records],
            )
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
