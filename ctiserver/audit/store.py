"""The audit log in SQL: appended in batches (by the background writer), read newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ctiserver.audit.model import AuditEvent
from ctiserver.audit.tables import AuditEventRow
from ctiserver.storage.base import from_epoch
from ctiserver.storage.database import Database
from ctiserver.storage.upsert import dialect_insert


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read; None matches anything. ``action`` ending in ``*`` is a prefix."""

    start: dt.datetime | None = None
    #: exclusive
    end: dt.datetime | None = None
    username: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    limit: int = 100


def _row(event: AuditEvent) -> dict[str, Any]:
    row = event.to_dict()
    row["at"] = from_epoch(event.at)
    return row


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, events: Sequence[AuditEvent]) -> None:
        """Store ``events`` in one transaction; those already stored (by key) are skipped."""
        if not events:
            return
        table = AuditEventRow.__table__
        insert = dialect_insert(self._db, table).on_conflict_do_nothing(index_elements=[table.c.key])
        async with self._db.session() as session:
            await session.execute(insert, [_row(event) for event in events])
            await session.commit()

    async def find(self, where: AuditFilter) -> list[AuditEventRow]:
        """The events that match, newest first, at most ``where.limit``."""
        query = select(AuditEventRow)
        if where.start is not None:
            query = query.where(AuditEventRow.at >= where.start)
        if where.end is not None:
            query = query.where(AuditEventRow.at < where.end)
        if where.username is not None:
            query = query.where(AuditEventRow.username == where.username)
        if where.action is not None:
            if where.action.endswith("*"):
                prefix = where.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(AuditEventRow.action.like(prefix + "%", escape="\\"))
            else:
                query = query.where(AuditEventRow.action == where.action)
        if where.target_kind is not None:
            query = query.where(AuditEventRow.target_kind == where.target_kind)
        if where.target_id is not None:
            query = query.where(AuditEventRow.target_id == where.target_id)
        query = query.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(where.limit)
        async with self._db.session() as session:
            return list(await session.scalars(query))
