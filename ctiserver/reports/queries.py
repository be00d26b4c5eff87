"""Reading the totals (hourly, daily) and the callbacks of a range for the reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select

from ctiserver.callbacks import Callback, CallbackAttempt
from ctiserver.reports.model import CALL_COLUMNS, MAX_COLUMNS, STATE_COLUMNS, SUM_COLUMNS
from ctiserver.reports.tables import (
    ReportDayRow,
    ReportHourRow,
    ReportPauseDayRow,
    ReportQueueDayRow,
    ReportQueueHourRow,
)
from ctiserver.storage.base import Base
from ctiserver.storage.database import Database

Totals = dict[str, float]
#: (unit, summed over agents) -> the table of that level
LEVELS: dict[tuple[str, bool], type[Base]] = {
    ("hour", False): ReportHourRow, ("hour", True): ReportQueueHourRow,
    ("day", False): ReportDayRow, ("day", True): ReportQueueDayRow,
}


class ReportQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def totals(
        self,
        unit: str,
        first: int,
        end: int,
        by: Sequence[str],
        *,
        queue: str | None = None,
        agent: str | None = None,
        states: bool = False,
    ) -> list[tuple[tuple[Any, ...], Totals]]:
        """The totals of the epoch hours (``unit`` "hour") or local days ("day") [first, end),
        grouped by the columns ``by``; the agents' state seconds only with ``states`` (they
        are on rows of queue ``""``). Read from the coarsest level that answers exactly: the
        rows summed over agents unless an agent, or the agents' states, are asked for."""
        per_queue = agent is None and not states and "agent" not in by
        table = LEVELS[(unit, per_queue)].__table__
        summed = [*CALL_COLUMNS, *SUM_COLUMNS, *(STATE_COLUMNS if states else ())]
        groups = [table.c[name] for name in by]
        query = (
            select(*groups, *[func.sum(table.c[c]).label(c) for c in summed],
                   *[func.max(table.c[c]).label(c) for c in MAX_COLUMNS])
            .where(table.c[unit] >= first, table.c[unit] < end)
            .group_by(*groups)
        )
        if queue is not None:
            query = query.where(table.c.queue.in_([queue, ""]) if states else table.c.queue == queue)
        if agent is not None:
            query = query.where(table.c.agent == agent)
        if not states and not per_queue:
            query = query.where(table.c.queue != "")
        names = [*summed, *MAX_COLUMNS]
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        return [
            (tuple(row[: len(by)]), {n: float(v or 0) for n, v in zip(names, row[len(by):], strict=True)})
            for row in rows
        ]

    async def pauses(self, first: int, end: int, agent: str | None = None) -> dict[str, dict[str, float]]:
        """agent -> pause reason -> seconds in the local days [first, end)."""
        table = ReportPauseDayRow.__table__
        query = (
            select(table.c.agent, table.c.reason, func.sum(table.c.seconds))
            .where(table.c.day >= first, table.c.day < end)
            .group_by(table.c.agent, table.c.reason)
        )
        if agent is not None:
            query = query.where(table.c.agent == agent)
        found: dict[str, dict[str, float]] = {}
        async with self._db.session() as session:
            for name, reason, seconds in (await session.execute(query)).all():
                found.setdefault(name, {})[reason] = float(seconds or 0)
        return found

    async def callbacks_owed(
        self, start: dt.datetime, end: dt.datetime, queue: str | None = None, agent: str | None = None
    ) -> dict[str, int]:
        """queue ("" none) -> callback tasks whose first miss is in [start, end)."""
        query = (
            select(Callback.queue, func.count())
            .where(Callback.missed_at >= start, Callback.missed_at < end)
            .group_by(Callback.queue)
        )
        if queue is not None:
            query = query.where(Callback.queue == queue)
        if agent is not None:
            query = query.where(Callback.agent == agent)
        async with self._db.session() as session:
            return {q or "": int(n) for q, n in (await session.execute(query)).all()}

    async def callback_attempts(
        self, start: dt.datetime, end: dt.datetime, queue: str | None = None, agent: str | None = None
    ) -> list[tuple[str, str, int, int]]:
        """(queue, agent extension, attempts made, attempts connected) started in [start, end)."""
        connected = func.sum(case((CallbackAttempt.outcome == "connected", 1), else_=0))
        query = (
            select(Callback.queue, CallbackAttempt.agent, func.count(), connected)
            .join(Callback, Callback.id == CallbackAttempt.callback_id)
            .where(CallbackAttempt.started_at >= start, CallbackAttempt.started_at < end)
            .group_by(Callback.queue, CallbackAttempt.agent)
        )
        if queue is not None:
            query = query.where(Callback.queue == queue)
        if agent is not None:
            query = query.where(CallbackAttempt.agent == agent)
        async with self._db.session() as session:
            return [(q or "", a or "", int(n), int(c or 0)) for q, a, n, c in (await session.execute(query)).all()]
