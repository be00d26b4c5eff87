"""Voicemails callers left in the IVR: the table (``tables.Voicemail``) and its repository,
both the IVR's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.ivr.tables import Voicemail
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database


@dataclass(frozen=True)
class VoicemailInfo:
    id: int
    call_linkedid: str
    caller_number: str | None
    customer_id: int | None
    path: str
    created_at: dt.datetime
    listened_at: dt.datetime | None

    @classmethod
    def of(cls, row: Voicemail) -> VoicemailInfo:
        return cls(
            row.id, row.call_linkedid, row.caller_number, row.customer_id, row.path,
            row.created_at, row.listened_at,
        )


class VoicemailRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self,
        *,
        call_linkedid: str,
        path: str,
        caller_number: str | None = None,
        customer_id: int | None = None,
    ) -> VoicemailInfo:
        async with self._db.session() as session:
            row = Voicemail(
                call_linkedid=call_linkedid, caller_number=caller_number,
                customer_id=customer_id, path=path, created_at=utcnow(),
            )
            session.add(row)
            await session.commit()
            return VoicemailInfo.of(row)

    async def list_for_call(self, linkedid: str) -> list[VoicemailInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Voicemail).where(Voicemail.call_linkedid == linkedid).order_by(Voicemail.id)
            )
            return [VoicemailInfo.of(row) for row in rows]
