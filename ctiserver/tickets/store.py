"""After-sales tickets: opened by the IVR or an agent, routed to a department, tracked by status.

Ticket numbers read like ``R20261122-0001``: the type's letter, the local date of
the hotline and the day's sequence over all types, so a caller can read one out
and an agent can tell its age and kind at a glance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.settings import HotlineSettings
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database
from ctiserver.tickets.tables import Ticket, TicketCounter, TicketEvent
from ctiserver.vocabulary import DEPARTMENT_BY_TYPE, TICKET_SOURCES, TICKET_STATUSES, TICKET_TYPES

LETTER_BY_TYPE: Mapping[str, str] = {
    "repair": "R",
    "complaint": "C",
    "installation": "I",
    "moving": "M",
    "inquiry": "Q",
}
#: status -> the statuses it may move to; closed and cancelled are final
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "open": frozenset({"assigned", "in_progress", "cancelled"}),
    "assigned": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
}
#: the hotline's time zone when none is given (the setting's default; the server passes the setting)
DEFAULT_TIMEZONE = HotlineSettings().timezone

_UPSERT: dict[str, Callable[[type[TicketCounter]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


@dataclass(frozen=True)
class TicketInfo:
    id: int
    number: str
    type: str
    status: str
    department: str
    summary: str
    fields: dict[str, Any]
    customer_id: int | None
    product_id: int | None
    call_linkedid: str | None
    source: str
    created_by_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class TicketEventInfo:
    id: int
    ticket_id: int
    at: dt.datetime
    kind: str
    #: the ticket's status after the event
    status: str | None
    note: str | None
    user_id: int | None


def _info(row: Ticket) -> TicketInfo:
    return TicketInfo(
        id=row.id, number=row.number, type=row.type, status=row.status,
        department=row.department, summary=row.summary, fields=dict(row.fields or {}),
        customer_id=row.customer_id, product_id=row.product_id,
        call_linkedid=row.call_linkedid, source=row.source,
        created_by_user_id=row.created_by_user_id, created_at=row.created_at,
        updated_at=row.updated_at, resolved_at=row.resolved_at,
    )


def _event_info(row: TicketEvent) -> TicketEventInfo:
    return TicketEventInfo(
        row.id, row.ticket_id, row.at, row.kind, row.status, row.note, row.user_id
    )


class TicketRepository:
    def __init__(
        self,
        db: Database,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._db = db
        self._zone = ZoneInfo(timezone)
        self._clock = clock

    async def open(
        self,
        type: str,
        summary: str,
        fields: Mapping[str, Any],
        *,
        customer_id: int | None,
        product_id: int | None = None,
        call_linkedid: str | None = None,
        source: str = "ivr",
        user_id: int | None = None,
    ) -> TicketInfo:
        """Insert the ticket and its ``created`` event in one transaction."""
        if type not in TICKET_TYPES:
            expected = ", ".join(TICKET_TYPES)
            raise ValueError(f"unknown ticket type {type!r}; expected one of {expected}")
        if source not in TICKET_SOURCES:
            raise ValueError(f"unknown ticket source {source!r}")
        now = self._clock()
        day = now.astimezone(self._zone).strftime("%Y%m%d")
        async with self._db.session() as session:
            seq = await _next_sequence(session, self._db.engine.dialect.name, day)
            row = Ticket(
                number=f"{LETTER_BY_TYPE[type]}{day}-{seq:04d}",
                type=type, status="open", department=DEPARTMENT_BY_TYPE[type],
                summary=summary, fields=dict(fields), customer_id=customer_id,
                product_id=product_id, call_linkedid=call_linkedid, source=source,
                created_by_user_id=user_id, created_at=now, updated_at=now,
            )
            session.add(row)
            await session.flush()
            session.add(
                TicketEvent(
                    ticket_id=row.id, at=now, kind="created", status="open", user_id=user_id
                )
            )
            await session.commit()
            return _info(row)

    async def get(self, ticket_id: int) -> TicketInfo | None:
        async with self._db.session() as session:
            row = await session.get(Ticket, ticket_id)
            return None if row is None else _info(row)

    async def get_by_number(self, number: str) -> TicketInfo | None:
        async with self._db.session() as session:
            row = await session.scalar(select(Ticket).where(Ticket.number == number))
            return None if row is None else _info(row)

    async def list_for_call(self, linkedid: str) -> list[TicketInfo]:
        """The call's tickets in the order they were opened."""
        return await self._list(Ticket.call_linkedid == linkedid, Ticket.id)

    async def list_for_customer(self, customer_id: int) -> list[TicketInfo]:
        """The customer's tickets, newest first."""
        return await self._list(Ticket.customer_id == customer_id, Ticket.id.desc())

    async def events(self, ticket_id: int) -> list[TicketEventInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
            return [_event_info(row) for row in rows]

    async def set_status(
        self, ticket_id: int, status: str, *, user_id: int | None = None, note: str | None = None
    ) -> TicketInfo:
        """Move the ticket along :data:`TRANSITIONS`; ValueError for any other move."""
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {status!r}")
        async with self._db.session() as session:
            row = await session.scalar(
                select(Ticket).where(Ticket.id == ticket_id).with_for_update()
            )
            if row is None:
                raise LookupError(f"no ticket {ticket_id}")
            if status not in TRANSITIONS.get(row.status, frozenset()):
                raise ValueError(f"ticket {row.number}: cannot go from {row.status} to {status}")
            now = self._clock()
            row.status = status
            row.updated_at = now
            if status == "resolved":
                row.resolved_at = now
            elif status == "in_progress":
                row.resolved_at = None
            session.add(
                TicketEvent(
                    ticket_id=row.id, at=now, kind="status", status=status, note=note,
                    user_id=user_id,
                )
            )
            await session.commit()
            return _info(row)

    async def add_note(self, ticket_id: int, note: str, *, user_id: int | None = None) -> None:
        async with self._db.session() as session:
            row = await session.get(Ticket, ticket_id)
            if row is None:
                raise LookupError(f"no ticket {ticket_id}")
            now = self._clock()
            row.updated_at = now
            session.add(
                TicketEvent(
                    ticket_id=row.id, at=now, kind="note", status=row.status, note=note,
                    user_id=user_id,
                )
            )
            await session.commit()

    async def _list(self, where: Any, order: Any) -> list[TicketInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(select(Ticket).where(where).order_by(order))
            return [_info(row) for row in rows]


async def _next_sequence(session: AsyncSession, dialect: str, day: str) -> int:
    """The day's next ticket sequence number, from an upsert that locks the day's counter.

    The lock is held until the ticket's transaction ends, so concurrent openers get
    distinct numbers, and a rolled-back ticket gives its number back.
    """
    upsert = _UPSERT.get(dialect)
    if upsert is None:
        raise RuntimeError(f"ticket numbering needs PostgreSQL or SQLite, not {dialect}")
    statement = (
        upsert(TicketCounter)
        .values(day=day, last_seq=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.day],
            set_={"last_seq": TicketCounter.last_seq + 1},
        )
        .returning(TicketCounter.last_seq)
    )
    return int((await session.execute(statement)).scalar_one())


def ticket_dict(ticket: Any) -> dict[str, Any]:
    """The TICKET of docs/agent-desktop.md, from a TicketInfo or a ``tickets`` row (ORM or Core)."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "type": ticket.type,
        "status": ticket.status,
        "department": ticket.department,
        "summary": ticket.summary,
        "customer_id": ticket.customer_id,
        "product_id": ticket.product_id,
        "call_linkedid": ticket.call_linkedid,
        "source": ticket.source,
        "created_at": ticket.created_at.isoformat(timespec="milliseconds"),
    }
