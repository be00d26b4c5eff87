"""The recordings' index in SQL: written once per finished file, searched by the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.recordings.model import Flag
from ctiserver.recordings.tables import RecordingRow
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket
from ctiserver.vocabulary import OPEN_TICKET_STATUSES


@dataclass(frozen=True)
class RecordingFilter:
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


class RecordingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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
            query = query.where(RecordingRow.caller_number.contains(f.caller, autoescape=True))
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
