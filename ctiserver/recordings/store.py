"""The recordings' index in SQL: written once per finished file, searched by the API."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select

from ctiserver.customers import DEFAULT_REGION, Customer, CustomerPhone, normalize_phone
from ctiserver.recordings.model import Flag
from ctiserver.recordings.tables import RecordingRow
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket
from ctiserver.vocabulary import OPEN_TICKET_STATUSES


@dataclass(frozen=True)
class RecordingFilter:
    #: the caller: their number in any form (13800138000, 138-0013-8000, +86 138 0013 8000, or
    #: a part of it), or their name or their customer's (a part of it)
    caller: str | None = None
    agent: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    queue: str | None = None
    customer_id: int | None = None
    #: a ticket's number (or id) opened on the call
    ticket: str | None = None
    min_duration: float | None = None
    call_id: str | None = None
    limit: int = 100


#: what a phone number may be written with
PHONE_TEXT = re.compile(r"[\d\s()（）+.\-－]+")


def caller_matches(text: str, region: str = DEFAULT_REGION) -> ColumnElement[bool]:
    """The recordings of the caller ``text`` names (see ``RecordingFilter.caller``): a number is
    compared by its digits and by its key (the customers' phones' form), so that every way of
    writing it finds the same calls, also those of the customer who owns that number; a name
    is looked for in the caller's name and in the customer's."""
    text = text.strip()
    digits = re.sub(r"\D", "", text)
    if digits and PHONE_TEXT.fullmatch(text):
        key = normalize_phone(text, region) or digits
        owners = select(CustomerPhone.customer_id).where(CustomerPhone.normalized == key)
        return or_(
            RecordingRow.caller_number.contains(key, autoescape=True),
            RecordingRow.caller_number.contains(digits, autoescape=True),
            RecordingRow.customer_id.in_(owners.scalar_subquery()),
        )
    named = select(Customer.id).where(Customer.name.contains(text, autoescape=True))
    return or_(
        RecordingRow.caller_name.contains(text, autoescape=True),
        RecordingRow.caller_number.contains(text, autoescape=True),
        RecordingRow.customer_id.in_(named.scalar_subquery()),
    )


class RecordingRepository:
    def __init__(self, db: Database, region: str = DEFAULT_REGION) -> None:
        self._db = db
        self._region = region

    async def add(self, row: RecordingRow) -> None:
        """Index a finished recording; the same id twice (a replay) is kept once."""
        async with self._db.session() as session:
            if await session.get(RecordingRow, row.id) is None:
                session.add(row)
                await session.commit()

    async def get(self, recording_id: str) -> RecordingRow | None:
        async with self._db.session() as session:
            return await session.get(RecordingRow, recording_id)

    async def find(self, f: RecordingFilter) -> list[RecordingRow]:
        query = select(RecordingRow)
        if f.caller:
            query = query.where(caller_matches(f.caller, self._region))
        if f.agent:
            query = query.where(RecordingRow.agent == f.agent)
        if f.start is not None:
            query = query.where(RecordingRow.started_at >= f.start)
        if f.end is not None:
            query = query.where(RecordingRow.started_at < f.end)
        if f.queue:
            query = query.where(RecordingRow.queue == f.queue)
        if f.customer_id is not None:
            query = query.where(RecordingRow.customer_id == f.customer_id)
        if f.min_duration is not None:
            query = query.where(RecordingRow.duration >= f.min_duration)
        if f.call_id:
            query = query.where(RecordingRow.call_id == f.call_id)
        if f.ticket:
            tickets = select(Ticket.call_linkedid).where(Ticket.number == f.ticket)
            if f.ticket.isdigit():
                tickets = select(Ticket.call_linkedid).where(
                    (Ticket.number == f.ticket) | (Ticket.id == int(f.ticket))
                )
            query = query.where(RecordingRow.call_id.in_(tickets.scalar_subquery()))
        query = query.order_by(RecordingRow.started_at.desc()).limit(f.limit)
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())

    async def set_hold(self, recording_id: str, hold: bool) -> RecordingRow | None:
        async with self._db.session() as session:
            row = await session.get(RecordingRow, recording_id)
            if row is not None:
                row.hold = hold
                await session.commit()
            return row

    async def purge_candidates(self, before: dt.datetime) -> list[tuple[RecordingRow, bool]]:
        """Recordings started before ``before`` and not yet deleted, each with whether an
        open complaint ticket is tied to its call."""
        complaints = select(Ticket.call_linkedid).where(
            Ticket.type == "complaint", Ticket.status.in_(OPEN_TICKET_STATUSES), Ticket.call_linkedid.is_not(None)
        )
        query = select(RecordingRow).where(
            RecordingRow.started_at < before,
            (RecordingRow.flag.is_(None)) | (RecordingRow.flag != Flag.DELETED.value),
        ).order_by(RecordingRow.started_at)
        async with self._db.session() as session:
            held = set((await session.scalars(complaints)).all())
            rows = list((await session.scalars(query)).all())
        return [(row, row.call_id in held) for row in rows]

    async def mark_deleted(self, recording_id: str) -> None:
        """The file is gone; the row stays, so the audit trail keeps what it names."""
        async with self._db.session() as session:
            row = await session.get(RecordingRow, recording_id)
            if row is not None:
                row.flag = Flag.DELETED.value
                await session.commit()

    async def indexed_paths(self) -> list[tuple[str, str]]:
        """(id, path) of every recording whose file should be on disk (not deleted)."""
        query = select(RecordingRow.id, RecordingRow.path).where(
            (RecordingRow.flag.is_(None)) | (RecordingRow.flag != "deleted")
        )
        async with self._db.session() as session:
            return [(rid, path) for rid, path in (await session.execute(query)).all()]
