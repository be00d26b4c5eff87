"""Call records: one row per call (Asterisk Linkedid), written as the call progresses."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ctiserver.calls.tables import CallRow
from ctiserver.customers.phones import normalize_phone
from ctiserver.customers.tables import CustomerPhone
from ctiserver.storage.database import Database


class CallRecord(Protocol):
    """What :meth:`CallRepository.save` reads from a domain call; times are epoch seconds."""

    @property
    def linkedid(self) -> str: ...
    @property
    def caller_number(self) -> str | None: ...
    @property
    def caller_name(self) -> str | None: ...
    @property
    def started_at(self) -> float: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def ended_at(self) -> float | None: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def wait_seconds(self) -> float | None: ...
    @property
    def hangup_cause(self) -> int | None: ...
    @property
    def hangup_cause_text(self) -> str | None: ...


def _from_epoch(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    """Same format as the live feed (``Call.to_dict``): milliseconds, UTC offset."""
    return None if value is None else value.isoformat(timespec="milliseconds")


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class CallRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, call: CallRecord) -> None:
        """Insert or update the row for ``call.linkedid`` with the call's current state."""
        try:
            await self._save_once(call)
        except IntegrityError:
            # another save of the same new call inserted first; now it is an update
            await self._save_once(call)

    async def _save_once(self, call: CallRecord) -> None:
        async with self._db.session() as session:
            customer_id = None
            normalized = normalize_phone(call.caller_number or "")
            if normalized:
                customer_id = await session.scalar(
                    select(CustomerPhone.customer_id)
                    .where(CustomerPhone.normalized == normalized)
                    .order_by(CustomerPhone.id)
                    .limit(1)
                )
            row = await session.scalar(select(CallRow).where(CallRow.linkedid == call.linkedid))
            if row is None:
                row = CallRow(linkedid=call.linkedid)
                session.add(row)
            row.caller_number = call.caller_number
            row.caller_name = call.caller_name
            row.started_at = dt.datetime.fromtimestamp(call.started_at, dt.UTC)
            row.answered_at = _from_epoch(call.answered_at)
            row.ended_at = _from_epoch(call.ended_at)
            row.duration_seconds = (
                None if call.ended_at is None else max(0.0, call.ended_at - call.started_at)
            )
            row.queue = call.queue
            row.agent = call.agent
            row.wait_seconds = call.wait_seconds
            row.hangup_cause = call.hangup_cause
            row.hangup_cause_text = call.hangup_cause_text
            row.customer_id = customer_id
            await session.commit()

    async def list_ended(self, limit: int = 100) -> list[dict[str, Any]]:
        """Ended calls, newest first, shaped like an ended call on the live feed."""
        return await self._ended(CallRow.ended_at.is_not(None), limit)

    async def list_ended_for_customer(
        self, customer_id: int, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The customer's ended calls, newest first, shaped like :meth:`list_ended`."""
        return await self._ended(
            CallRow.ended_at.is_not(None) & (CallRow.customer_id == customer_id), limit
        )

    async def _ended(self, where: Any, limit: int) -> list[dict[str, Any]]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CallRow)
                .where(where)
                .order_by(CallRow.ended_at.desc(), CallRow.id.desc())
                .limit(limit)
            )
            return [call_record(row) for row in rows]


def call_record(row: Any) -> dict[str, Any]:
    """The CALL_RECORD of docs/agent-desktop.md, from a ``calls`` row (ORM or Core)."""
    return {
        "id": row.linkedid,
        "state": "ended",
        "caller_number": row.caller_number,
        "caller_name": row.caller_name,
        "started_at": _iso(row.started_at),
        "answered_at": _iso(row.answered_at),
        "ended_at": _iso(row.ended_at),
        "duration": _seconds(row.duration_seconds or 0.0),
        "queue": row.queue,
        "agent": row.agent,
        "wait_seconds": _seconds(row.wait_seconds),
        "hangup_cause": row.hangup_cause,
        "hangup_cause_text": row.hangup_cause_text,
        "customer_id": row.customer_id,
    }
