"""Voicemails callers left in the IVR."""

from __future__ import annotations

from sqlalchemy import select

from ctiserver.callbacks.views import VoicemailInfo
from ctiserver.ivr.tables import Voicemail
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database


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
