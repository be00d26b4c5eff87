"""The webhooks' SQL: cursors claimed while an event is sent, the events after a cursor
(read from ``ticket_events`` and ``tickets`` by the columns they have, so that this feature
follows the tickets' schema as it grows), the attempts, and each endpoint's state.

A claim is one transaction: on PostgreSQL the cursor row is taken with ``SELECT ... FOR
UPDATE SKIP LOCKED`` and held while the event is POSTed, and the cursor moves in the same
transaction, so a second server skips the endpoint meanwhile and then reads the moved
cursor. SQLite serves one process: its SELECT takes no lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.storage.base import UTCDateTime, utcnow
from ctiserver.storage.database import Database
from ctiserver.webhooks.model import EVENT_KEYS, TICKET_KEYS
from ctiserver.webhooks.tables import WebhookAttempt, WebhookCursor

#: events read after the cursor at a time
BATCH = 100
#: columns read with a type of their own (the others as the driver gives them)
_TYPES: Mapping[str, Any] = {"at": UTCDateTime(), "payload": sa.JSON()}
_INSERT: dict[str, Callable[[type[WebhookCursor]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


@dataclass(frozen=True)
class PendingEvent:
    id: int
    kind: str
    ticket_id: int
    #: the row's columns among model.EVENT_KEYS
    event: dict[str, Any]
    #: the ticket's columns among model.TICKET_KEYS (as it is now)
    ticket: dict[str, Any]


@dataclass(frozen=True)
class WebhookAttemptInfo:
    event_id: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "at": self.at.isoformat(timespec="milliseconds"),
            "status_code": self.status_code, "error": self.error, "duration": round(self.duration, 3),
        }


@dataclass(frozen=True)
class EndpointState:
    last_event_id: int | None
    updated_at: dt.datetime | None
    #: undelivered events of the endpoint's kinds
    backlog: int
    oldest_pending_at: dt.datetime | None
    last_attempt: WebhookAttemptInfo | None
    #: failed attempts since the last 2xx
    failures: int


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(connection)
    return {table: {c["name"] for c in inspector.get_columns(table)} for table in ("ticket_events", "tickets")}


class CursorClaim:
    """An endpoint's cursor, held until the claim's transaction ends."""

    def __init__(self, store: WebhookStore, session: AsyncSession, cursor: WebhookCursor) -> None:
        self._store = store
        self._session = session
        self._row = cursor

    @property
    def cursor(self) -> int:
        return self._row.last_event_id

    async def events(self, limit: int = BATCH) -> list[PendingEvent]:
        return await self._store.events_after(self._session, self.cursor, limit)

    async def advance(self, event_id: int) -> None:
        """Move the cursor over events not sent (kinds the endpoint does not take, gaps)."""
        self._row.last_event_id = event_id
        self._row.updated_at = utcnow()
        await self._session.commit()

    async def record(
        self, event_id: int, *, status_code: int | None, error: str | None, duration: float, delivered: bool
    ) -> None:
        """The attempt, and the cursor moved to the event if it was delivered (answered 2xx)."""
        now = utcnow()
        self._session.add(WebhookAttempt(
            endpoint=self._row.endpoint, event_id=event_id, at=now, status_code=status_code,
            error=error, duration=duration,
        ))
        if delivered:
            self._row.last_event_id = event_id
            self._row.updated_at = now
        await self._session.commit()


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._events: sa.TableClause | None = None
        self._tickets: sa.TableClause | None = None

    @property
    def _postgres(self) -> bool:
        return self._db.engine.dialect.name == "postgresql"

    async def learn_schema(self) -> tuple[sa.TableClause, sa.TableClause]:
        """``ticket_events`` and ``tickets`` with those of the documented columns they have."""
        if self._events is None or self._tickets is None:
            async with self._db.engine.connect() as connection:
                found = await connection.run_sync(_columns)
            events = [k for k in ("id", "ticket_id", "kind", *EVENT_KEYS) if k in found["ticket_events"]]
            tickets = [k for k in TICKET_KEYS if k in found["tickets"]]
            self._events = sa.table(
                "ticket_events", *(sa.column(k, _TYPES.get(k)) for k in dict.fromkeys(events))
            )
            self._tickets = sa.table("tickets", *(sa.column(k, _TYPES.get(k)) for k in tickets))
        return self._events, self._tickets

    async def prepare(self, endpoint: str, *, from_beginning: bool) -> int:
        """The endpoint's cursor, created at the last event written (or 0) if it has none."""
        async with self._db.session() as session:
            start = 0 if from_beginning else await session.scalar(
                select(func.coalesce(func.max(sa.column("id")), 0)).select_from(sa.table("ticket_events"))
            )
            insert = _INSERT[self._db.engine.dialect.name](WebhookCursor)
            await session.execute(insert.values(
                endpoint=endpoint, last_event_id=int(start or 0), updated_at=utcnow()
            ).on_conflict_do_nothing(index_elements=[WebhookCursor.endpoint]))
            await session.commit()
            cursor = await session.scalar(
                select(WebhookCursor.last_event_id).where(WebhookCursor.endpoint == endpoint)
            )
            return int(cursor or 0)

    @asynccontextmanager
    async def claim(self, endpoint: str) -> AsyncIterator[CursorClaim | None]:
        """The endpoint's cursor, or None while another server holds it."""
        async with self._db.session() as session:
            query = select(WebhookCursor).where(WebhookCursor.endpoint == endpoint)
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            row = await session.scalar(query)
            yield None if row is None else CursorClaim(self, session, row)

    async def events_after(self, session: AsyncSession, cursor: int, limit: int) -> list[PendingEvent]:
        events, tickets = await self.learn_schema()
        ticket_columns = [c.label(f"t__{c.name}") for c in tickets.columns]
        rows = await session.execute(
            select(*events.columns, *ticket_columns)
            .select_from(events.outerjoin(tickets, tickets.c.id == events.c.ticket_id))
            .where(events.c.id > cursor).order_by(events.c.id).limit(limit)
        )
        found = []
        for row in rows.mappings():
            event = {k: row[k] for k in EVENT_KEYS if k in events.c}
            ticket = {k: row[f"t__{k}"] for k in TICKET_KEYS if k in tickets.c}
            found.append(PendingEvent(int(row["id"]), str(row["kind"]), int(row["ticket_id"]), event, ticket))
        return found

    async def state(self, endpoint: str, kinds: Collection[str]) -> EndpointState:
        async with self._db.session() as session:
            cursor = await session.get(WebhookCursor, endpoint)
            last = await session.scalar(
                select(WebhookAttempt).where(WebhookAttempt.endpoint == endpoint)
                .order_by(WebhookAttempt.id.desc()).limit(1)
            )
            backlog, oldest = 0, None
            events = sa.table("ticket_events", sa.column("id"), sa.column("kind"), sa.column("at", UTCDateTime()))
            if cursor is not None:
                counted = (await session.execute(
                    select(func.count(), func.min(events.c.at))
                    .where(events.c.id > cursor.last_event_id, events.c.kind.in_(list(kinds)))
                )).one()
                backlog, oldest = int(counted[0]), counted[1]
                if isinstance(oldest, str):  # SQLite's min() of a datetime column is text
                    oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=dt.UTC)
            failures = 0
            if last is not None and not _delivered(last.status_code):
                since = select(func.max(WebhookAttempt.id)).where(
                    WebhookAttempt.endpoint == endpoint, WebhookAttempt.status_code >= 200,
                    WebhookAttempt.status_code < 300,
                ).scalar_subquery()
                failures = int(await session.scalar(
                    select(func.count()).select_from(WebhookAttempt).where(
                        WebhookAttempt.endpoint == endpoint, WebhookAttempt.id > func.coalesce(since, 0)
                    )
                ) or 0)
        return EndpointState(
            last_event_id=None if cursor is None else cursor.last_event_id,
            updated_at=None if cursor is None else cursor.updated_at,
            backlog=backlog, oldest_pending_at=oldest,
            last_attempt=None if last is None else WebhookAttemptInfo(
                last.event_id, last.at, last.status_code, last.error, last.duration
            ),
            failures=failures,
        )

    async def attempts(self, endpoint: str) -> list[WebhookAttemptInfo]:
        """Every attempt for ``endpoint``, oldest first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.endpoint == endpoint).order_by(WebhookAttempt.id)
            )
            return [WebhookAttemptInfo(r.event_id, r.at, r.status_code, r.error, r.duration) for r in rows]


def _delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300
