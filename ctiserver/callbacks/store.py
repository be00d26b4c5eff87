"""Callbacks callers asked for, and voicemails they left: both committed before we answer.

A caller who pressed "call me back" has hung up believing it; the request must be
in the database before the IVR says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.callbacks.tables import Callback
from ctiserver.ivr.tables import Voicemail
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database


@dataclass(frozen=True)
class CallbackInfo:
    id: int
    number: str
    customer_id: int | None
    call_linkedid: str | None
    reason: str
    status: str
    requested_at: dt.datetime
    due_at: dt.datetime
    attempts: int
    last_attempt_at: dt.datetime | None


@dataclass(frozen=True)
class VoicemailInfo:
    id: int
    call_linkedid: str
    caller_number: str | None
    customer_id: int | None
    path: str
    created_at: dt.datetime
    listened_at: dt.datetime | None


def _callback_info(row: Callback) -> CallbackInfo:
    return CallbackInfo(
        row.id, row.number, row.customer_id, row.call_linkedid, row.reason, row.status,
        row.requested_at, row.due_at, row.attempts, row.last_attempt_at,
    )


def _voicemail_info(row: Voicemail) -> VoicemailInfo:
    return VoicemailInfo(
        row.id, row.call_linkedid, row.caller_number, row.customer_id, row.path,
        row.created_at, row.listened_at,
    )


class CallbackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def request(
        self,
        number: str,
        *,
        customer_id: int | None,
        call_linkedid: str | None,
        reason: str,
        due_at: dt.datetime | None = None,
    ) -> CallbackInfo:
        """Record a pending callback, due now unless ``due_at`` says otherwise."""
        if not number.strip():
            raise ValueError("no number to call back")
        now = utcnow()
        async with self._db.session() as session:
            row = Callback(
                number=number, customer_id=customer_id, call_linkedid=call_linkedid,
                reason=reason, status="pending", requested_at=now, due_at=due_at or now,
                attempts=0,
            )
            session.add(row)
            await session.commit()
            return _callback_info(row)

    async def pending(self, limit: int = 100) -> list[CallbackInfo]:
        """Pending callbacks, the longest overdue first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Callback)
                .where(Callback.status == "pending")
                .order_by(Callback.due_at, Callback.id)
                .limit(limit)
            )
            return [_callback_info(row) for row in rows]

    async def get(self, callback_id: int) -> CallbackInfo | None:
        async with self._db.session() as session:
            row = await session.get(Callback, callback_id)
            return None if row is None else _callback_info(row)


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
            return _voicemail_info(row)

    async def list_for_call(self, linkedid: str) -> list[VoicemailInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Voicemail).where(Voicemail.call_linkedid == linkedid).order_by(Voicemail.id)
            )
            return [_voicemail_info(row) for row in rows]
