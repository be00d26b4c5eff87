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
    CoarseTotals,
    HourlyTotals,
    LocalDays,
    Thresholds,
)
from ctiserver.reports.tables import (
    ReportDayRow,
    ReportHourRow,
    ReportPauseDayRow,
    ReportPauseRow,
    ReportQueueDayRow,
    ReportQueueHourRow,
)
from ctiserver.settings import Settings
from ctiserver.stats import StatsRecordRow
from ctiserver.stats.model import Record, record_from_dict
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
        settings.reports.service_level, settings.reports.short_abandon_seconds, settings.hotline.timezone,
    )


def _insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


Upsert = tuple[Statement, list[dict[str, Any]]]


def _upsert(dialect: str, table: Any, keys: Sequence[str], rows: list[dict[str, Any]]) -> Upsert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: every other column added, maxima kept."""
    insert = _insert(dialect, table)
    greatest = func.greatest if dialect == "postgresql" else func.max
    changes = {
        c.name: (greatest(c, insert.excluded[c.name]) if c.name in MAX_COLUMNS else c + insert.excluded[c.name])
        for c in table.columns if c.name not in keys and c.name in rows[0]
    }
    return insert.on_conflict_do_update(index_elements=list(keys), set_=changes), rows


def _values(values: dict[str, float]) -> dict[str, Any]:
    return {c: (int(v) if c in CALL_COLUMNS else v) for c, v in values.items()}


def merge_statements(dialect: str, totals: HourlyTotals) -> list[Upsert]:
    """(statement, rows) pairs that add ``totals`` to the stored ones, at every level."""
    return [*_hour_statements(dialect, totals),
            *coarse_statements(dialect, CoarseTotals.of(totals, local_days(totals.thresholds)))]


def _hour_statements(dialect: str, totals: HourlyTotals) -> list[Upsert]:
    statements = []
    if totals.rows:
        statements.append(_upsert(dialect, ReportHourRow.__table__, ("hour", "queue", "agent"), [
            {"hour": h, "queue": q, "agent": a, **_values(values)}
            for (h, q, a), values in sorted(totals.rows.items())
        ]))
    if totals.pauses:
        statements.append(_upsert(dialect, ReportPauseRow.__table__, ("hour", "agent", "reason"), [
            {"hour": h, "agent": a, "reason": r, "seconds": s} for (h, a, r), s in sorted(totals.pauses.items())
        ]))
    return statements


def coarse_statements(dialect: str, coarse: CoarseTotals) -> list[Upsert]:
    statements = []
    if coarse.days:
        statements.append(_upsert(dialect, ReportDayRow.__table__, ("day", "queue", "agent"), [
            {"day": d, "queue": q, "agent": a, **_values(values)} for (d, q, a), values in sorted(coarse.days.items())
        ]))
    if coarse.queue_days:
        statements.append(_upsert(dialect, ReportQueueDayRow.__table__, ("day", "queue"), [
            {"day": d, "queue": q, **_values(values)} for (d, q), values in sorted(coarse.queue_days.items())
        ]))
    if coarse.queue_hours:
        statements.append(_upsert(dialect, ReportQueueHourRow.__table__, ("hour", "queue"), [
            {"hour": h, "queue": q, **_values(values)} for (h, q), values in sorted(coarse.queue_hours.items())
        ]))
    if coarse.pause_days:
        statements.append(_upsert(dialect, ReportPauseDayRow.__table__, ("day", "agent", "reason"), [
            {"day": d, "agent": a, "reason": r, "seconds": s} for (d, a, r), s in sorted(coarse.pause_days.items())
        ]))
    return statements


_DAYS: dict[str, LocalDays] = {}


def local_days(thresholds: Thresholds) -> LocalDays:
    """The local days of the thresholds' time zone (one per zone, its cache kept)."""
    days = _DAYS.get(thresholds.timezone)
    if days is None:
        days = _DAYS[thresholds.timezone] = LocalDays(thresholds.timezone)
    return days


async def merge(session: AsyncSession, totals: HourlyTotals) -> None:
    dialect = session.get_bind().dialect.name
    for statement, rows in merge_statements(dialect, totals):
        await session.execute(statement, rows)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _wipe(connection: Connection, first: int | None, end: int | None, days: LocalDays, coarse: bool) -> None:
    """The rows of the hours [first, end) (whole local days) deleted, at every level
    (``coarse``) or the hourly ones only."""
    levels = [(ReportHourRow, "hour", first, end), (ReportPauseRow, "hour", first, end)]
    if coarse:
        levels.append((ReportQueueHourRow, "hour", first, end))
        levels.extend((model, "day", None if first is None else days.of_hour(first),
                       None if end is None else days.of_hour(end - 1) + 1)
                      for model in (ReportDayRow, ReportQueueDayRow, ReportPauseDayRow))
    for model, column, lo, hi in levels:
        wipe = delete(model)
        if lo is not None:
            wipe = wipe.where(getattr(model, column) >= lo)
        if hi is not None:
            wipe = wipe.where(getattr(model, column) < hi)
        connection.execute(wipe)


def rebuild_sync(connection: Connection, thresholds: Thresholds, first: int | None = None,
                 end: int | None = None, *, coarse: bool = True) -> int:
    """The totals of the hours [first, end) (None: all), widened to whole local days,
    recounted from the records at every level (``coarse``; else the hourly rows only, as
    migration 0010 made them); how many records were read. Runs in the caller's transaction."""
    days = local_days(thresholds)
    if first is not None:
        first = days.first_hour(days.of_hour(first))
    if end is not None:
        end = days.first_hour(days.of_hour(end - 1) + 1)
    _wipe(connection, first, end, days, coarse)
    stats = StatsRecordRow.__table__
    query = select(stats.c.data).order_by(stats.c.id)
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
        for statement, rows in (merge_statements if coarse else _hour_statements)(connection.dialect.name, totals):
            connection.execute(statement, rows)
    return read


def coarse_from_hours_sync(connection: Connection, timezone: str) -> int:
    """The coarser levels summed from the stored hourly rows (the migration's backfill:
    exact, and far fewer rows than the records); how many hourly rows were read."""
    days = LocalDays(timezone)
    hours, pauses = ReportHourRow.__table__, ReportPauseRow.__table__
    names = [c.name for c in hours.columns if c.name not in ("hour", "queue", "agent")]
    read = 0
    coarse = CoarseTotals()
    for row in connection.execute(select(hours).execution_options(yield_per=REBUILD_CHUNK)):
        read += 1
        coarse.add_row(row.hour, days.of_hour(row.hour), row.queue, row.agent,
                       {n: float(getattr(row, n) or 0) for n in names})
        if read % REBUILD_CHUNK == 0:
            _merge_coarse(connection, coarse)
            coarse = CoarseTotals()
    for hour, agent, reason, seconds in connection.execute(select(pauses)):
        key = (days.of_hour(hour), agent, reason)
        coarse.pause_days[key] = coarse.pause_days.get(key, 0.0) + float(seconds or 0)
    _merge_coarse(connection, coarse)
    return read


def _merge_coarse(connection: Connection, coarse: CoarseTotals) -> None:
    for statement, rows in coarse_statements(connection.dialect.name, coarse):
        connection.execute(statement, rows)


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
