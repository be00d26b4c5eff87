"""The webhooks' SQL: the event about to be sent (read from ``ticket_events`` and
``tickets`` by the columns they have, so that this feature follows the tickets' schema as it
grows), the attempts, and each endpoint's state.

An endpoint's cursor is its consumer's in the ticket-event feed (``ctiserver.tickets.feed``):
claimed for one step in one transaction (on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``,
held while the event is POSTed), the attempt recorded and the cursor moved in the same
transaction, so a second server skips the endpoint meanwhile and then reads the moved cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.storage.base import UTCDateTime, utcnow
from ctiserver.storage.database import Database
from ctiserver.tickets import feed_position
from ctiserver.webhooks.model import EVENT_KEYS, TICKET_KEYS, consumer_name
from ctiserver.webhooks.tables import WebhookAttempt

#: columns read with a type of their own (the others as the driver gives them)
_TYPES: Mapping[str, Any] = {"at": UTCDateTime(), "payload": sa.JSON()}


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


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._events: sa.TableClause | None = None
        self._tickets: sa.TableClause | None = None

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

    async def pending(self, session: AsyncSession, event_id: int) -> PendingEvent | None:
        """The event ``event_id`` with its ticket as it is now (None: gone with its ticket)."""
        events, tickets = await self.learn_schema()
        ticket_columns = [c.label(f"t__{c.name}") for c in tickets.columns]
        found = (await session.execute(
            select(*events.columns, *ticket_columns)
            .select_from(events.outerjoin(tickets, tickets.c.id == events.c.ticket_id))
            .where(events.c.id == event_id)
        )).mappings().first()
        if found is None:
            return None
        event = {k: found[k] for k in EVENT_KEYS if k in events.c}
        ticket = {k: found[f"t__{k}"] for k in TICKET_KEYS if k in tickets.c}
        return PendingEvent(int(found["id"]), str(found["kind"]), int(found["ticket_id"]), event, ticket)

    @staticmethod
    def record(
        session: AsyncSession, endpoint: str, event_id: int, *, status_code: int | None, error: str | None,
        duration: float,
    ) -> None:
        """The attempt, added to the claim's transaction (which commits it with the cursor)."""
        session.add(WebhookAttempt(
            endpoint=endpoint, event_id=event_id, at=utcnow(), status_code=status_code, error=error,
            duration=duration,
        ))

    async def state(self, endpoint: str, kinds: Collection[str]) -> EndpointState:
        cursor = await feed_position(self._db, consumer_name(endpoint))
        async with self._db.session() as session:
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
