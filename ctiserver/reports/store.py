"""Hourly totals stored: merged as records are stored, rebuilt from the records.

``merge_statements`` adds totals to the stored rows (INSERT ... ON CONFLICT DO UPDATE:
counts and sums added, maxima kept as the greater); the same statements run on the
server's async sessions and on the migration's synchronous connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.reports.model import (
    CALL_COLUMNS,
    HOUR,
    MAX_COLUMNS,
    STATE_COLUMNS,
    SUM_COLUMNS,
    HourlyTotals,
    Thresholds,
)
from ctiserver.reports.tables import ReportHourRow, ReportPauseRow
from ctiserver.settings import Settings
from ctiserver.stats.model import Record, record_from_dict
from ctiserver.stats.tables import StatsRecordRow
from ctiserver.storage.database import Database

#: records read (and totals merged) per step of a rebuild
REBUILD_CHUNK = 20_000
#: a rebuilt range also reads records stored up to this long after it: the outcome of a
#: call offered in the range, an agent's interval that began in it
REBUILD_MARGIN = 7 * 86400

Statement = Any


def thresholds(settings: Settings) -> Thresholds:
    """The service level per queue and the short abandon, from the settings."""
    return Thresholds(
        {queue.name: queue.service_level for queue in settings.hotline.queues},
        settings.reports.service_level, settings.reports.short_abandon_seconds,
    )


def _insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def merge_statements(dialect: str, totals: HourlyTotals) -> list[tuple[Statement, list[dict[str, Any]]]]:
    """(statement, rows) pairs that add ``totals`` to the stored ones."""
    statements: list[tuple[Statement, list[dict[str, Any]]]] = []
    if totals.rows:
        table = ReportHourRow.__table__
        insert = _insert(dialect, table)
        greatest = func.greatest if dialect == "postgresql" else func.max
        changes = {c: table.c[c] + insert.excluded[c] for c in (*CALL_COLUMNS, *SUM_COLUMNS, *STATE_COLUMNS)}
        changes.update({c: greatest(table.c[c], insert.excluded[c]) for c in MAX_COLUMNS})
        statement = insert.on_conflict_do_update(index_elements=["hour", "queue", "agent"], set_=changes)
        rows = [
            {"hour": h, "queue": q, "agent": a,
             **{c: (int(v) if c in CALL_COLUMNS else v) for c, v in values.items()}}
            for (h, q, a), values in sorted(totals.rows.items())
        ]
        statements.append((statement, rows))
    if totals.pauses:
        pauses = ReportPauseRow.__table__
        insert = _insert(dialect, pauses)
        statement = insert.on_conflict_do_update(
            index_elements=["hour", "agent", "reason"],
            set_={"seconds": pauses.c.seconds + insert.excluded.seconds},
        )
        statements.append((statement, [
            {"hour": h, "agent": a, "reason": r, "seconds": s} for (h, a, r), s in sorted(totals.pauses.items())
        ]))
    return statements


async def merge(session: AsyncSession, totals: HourlyTotals) -> None:
    dialect = session.get_bind().dialect.name
    for statement, rows in merge_statements(dialect, totals):
        await session.execute(statement, rows)


def merge_sync(connection: Connection, totals: HourlyTotals) -> None:
    for statement, rows in merge_statements(connection.dialect.name, totals):
        connection.execute(statement, rows)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rebuild_sync(connection: Connection, thresholds: Thresholds, first: int | None = None,
                 end: int | None = None) -> int:
    """The totals of the hours [first, end) (None: all) recounted from the records; how
    many records were read. Runs in the caller's transaction."""
    stats = StatsRecordRow.__table__
    query = select(stats.c.data).order_by(stats.c.id)
    for model in (ReportHourRow, ReportPauseRow):
        wipe = delete(model)
        if first is not None:
            wipe = wipe.where(model.hour >= first)
        if end is not None:
            wipe = wipe.where(model.hour < end)
        connection.execute(wipe)
    if first is not None:
        query = query.where(stats.c.at >= first * HOUR)
    if end is not None:
        query = query.where(stats.c.at < end * HOUR + REBUILD_MARGIN)
    result = connection.execute(query.execution_options(yield_per=REBUILD_CHUNK))
    read = 0
    for chunk in _chunks((record_from_dict(data) for (data,) in result), REBUILD_CHUNK):
        read += len(chunk)
        totals = HourlyTotals.of(chunk, thresholds)
        if first is not None or end is not None:
            totals = totals.only_hours(first if first is not None else -(2**62), end if end is not None else 2**62)
        merge_sync(connection, totals)
    return read


class ReportTotals:
    """Keeps the hourly totals: merged with each stored batch, rebuilt on demand."""

    def __init__(self, db: Database, thresholds: Thresholds) -> None:
        self._db = db
        self.thresholds = thresholds

    async def stored(self, session: AsyncSession, records: Sequence[Record]) -> None:
        """The statistics store's hook: ``records`` were just stored in ``session``'s
        transaction (those already stored before left out), which commits both."""
        await merge(session, HourlyTotals.of(records, self.thresholds))

    async def rebuild(self, first: int | None = None, end: int | None = None) -> int:
        async with self._db.engine.begin() as connection:
            return await connection.run_sync(
                lambda sync: rebuild_sync(sync, self.thresholds, first, end)
            )
