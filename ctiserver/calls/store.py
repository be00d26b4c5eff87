"""Call records: one row per call (Asterisk Linkedid), written as the call progresses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from ctiserver.calls.tables import CallRow
from ctiserver.customers import DEFAULT_REGION, CustomerPhone, normalize_phone
from ctiserver.storage.base import from_epoch
from ctiserver.storage.database import Database
from ctiserver.storage.upsert import dialect_insert


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
    return None if seconds is None else from_epoch(seconds)


def _iso(value: dt.datetime | None) -> str | None:
    """Same format as the live feed (``Call.to_dict``): milliseconds, UTC offset."""
    return None if value is None else value.isoformat(timespec="milliseconds")


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _row(call: CallRecord, customer_id: int | None) -> dict[str, Any]:
    return {
        "linkedid": call.linkedid,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "started_at": from_epoch(call.started_at),
        "answered_at": _from_epoch(call.answered_at),
        "ended_at": _from_epoch(call.ended_at),
        "duration_seconds": (
            None if call.ended_at is None else max(0.0, call.ended_at - call.started_at)
        ),
        "queue": call.queue,
        "agent": call.agent,
        "wait_seconds": call.wait_seconds,
        "hangup_cause": call.hangup_cause,
        "hangup_cause_text": call.hangup_cause_text,
        "customer_id": customer_id,
    }


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """What :meth:`CallRepository.save` stores of a call, frozen when it is handed over
    (the live ``Call`` goes on changing); JSON-safe for the writer's journal."""

    linkedid: str
    caller_number: str | None
    caller_name: str | None
    started_at: float
    answered_at: float | None
    ended_at: float | None
    queue: str | None
    agent: str | None
    wait_seconds: float | None
    hangup_cause: int | None
    hangup_cause_text: str | None

    @classmethod
    def of(cls, call: CallRecord) -> CallSnapshot:
        return cls(**{name: getattr(call, name) for name in _SNAPSHOT_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallSnapshot:
        """The snapshot of :meth:`to_dict`; TypeError on other input."""
        return cls(**data)


_SNAPSHOT_FIELDS = tuple(f.name for f in dataclasses.fields(CallSnapshot))


class CallRepository:
    def __init__(self, db: Database, region: str = DEFAULT_REGION) -> None:
        """``region``: the hotline's, in whose plan callers' numbers are read."""
        self._db = db
        self._region = region

    async def save(self, call: CallRecord) -> None:
        """Insert or update the row for ``call.linkedid`` with the call's current state."""
        await self.save_many([call])

    async def save_many(self, calls: Sequence[CallRecord]) -> None:
        """Upsert by ``linkedid``, in one transaction: saving the same calls again changes nothing
        (the background writer may retry a batch whose commit was not acknowledged)."""
        latest = {call.linkedid: call for call in calls}  # one row per call, its last state
        if not latest:
            return
        async with self._db.session() as session:
            numbers = {normalize_phone(c.caller_number or "", self._region) for c in latest.values()} - {""}
            customers: dict[str, int] = {}
            if numbers:
                found = await session.execute(
                    select(CustomerPhone.normalized, CustomerPhone.customer_id)
                    .where(CustomerPhone.normalized.in_(numbers))
                    .order_by(CustomerPhone.id)
                )
                for normalized, customer_id in found:
                    customers.setdefault(normalized, customer_id)
            rows = [
                _row(call, customers.get(normalize_phone(call.caller_number or "", self._region)))
                for call in latest.values()
            ]
            table = CallRow.__table__
            insert = dialect_insert(self._db, table)
            upsert = insert.on_conflict_do_update(
                index_elements=[table.c.linkedid],
                set_={name: insert.excluded[name] for name in rows[0] if name != "linkedid"},
            )
            await session.execute(upsert, rows)
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
