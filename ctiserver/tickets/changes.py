"""The transition API of the ticket store, usable by any package: ``move`` a ticket along the
workflow, ``dispatch``, ``schedule``, change its ``fields``, add a note.

Every change is optimistic: it reads the ticket, decides, then updates it only if its
``version`` is still the one read (and the one the caller gave, if any), incrementing
it, and writes the event that records the change in the same transaction. Of two
concurrent changes one wins; the other raises :class:`TicketConflict` and writes
nothing. The update is the transaction's first statement, so that on SQLite the writer
waits for the other (busy timeout) instead of failing on a stale snapshot. Notes and
the SLA's own events do not change the version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.dispatch import Branch, Department
from ctiserver.storage.database import Database
from ctiserver.tickets.bus import bus_of
from ctiserver.tickets.infos import TicketInfo, event_info, ticket_info
from ctiserver.tickets.model.kinds import validate_fields
from ctiserver.tickets.model.sla import Move, SlaClock, SlaRules
from ctiserver.tickets.model.workflow import (
    ReferenceRefused,
    TicketConflict,
    TicketNotFound,
    TransitionRefused,
    check_move,
    engineer_fits,
)
from ctiserver.tickets.tables import Ticket, TicketEvent
from ctiserver.users import User
from ctiserver.vocabulary import FINAL_TICKET_STATUSES


@dataclass(frozen=True)
class Change:
    """What a change does to the ticket's row and the event that records it."""

    kind: str
    to: str
    values: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Author:
    """Who makes a change: a user (``user_id``), or the system (None) named by ``actor``."""

    user_id: int | None = None
    actor: str | None = None


SYSTEM = Author(None, "system")
#: what a customer may answer to an appointment (``customer_answer``)
CUSTOMER_ANSWERS = ("confirmed", "time_requested")


class TicketChanges:
    _db: Database
    _clock: Callable[[], dt.datetime]
    _sla: SlaRules

    async def move(
        self, ticket_id: int, to: str, *, note: str | None = None, version: int | None = None,
        by: Author | None = None, user_id: int | None = None, actor: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> TicketInfo:
        """Move the ticket to ``to``: :class:`TransitionRefused` if the workflow does not allow
        it, :class:`TicketConflict` if ``version`` is stale or it changed meanwhile,
        :class:`TicketNotFound`. ``scheduled`` and ``dispatched`` have their own methods.
        Who: ``by``, or ``user_id`` (None: the system) and ``actor`` (e.g. "survey")."""
        by = by or Author(user_id, actor or (None if user_id is not None else SYSTEM.actor))
        def decide(row: Ticket) -> Change:
            if to in ("scheduled", "dispatched"):
                raise TransitionRefused(f"use the {to[:-1]} action to move a ticket to {to}")
            kind = check_move(row.number, row.status, to)
            values: dict[str, Any] = {"status": to}
            if to == "closed":
                values["closed_at"] = self._clock()
            return Change(kind, to, values, note, dict(payload or {}))

        return await self._change(ticket_id, version, by, decide)

    async def dispatch(
        self, ticket_id: int, department: str, branch_id: int | None, *, note: str | None = None,
        version: int | None = None, by: Author = SYSTEM,
    ) -> TicketInfo:
        """To a department and a branch, by hand: a new, dispatched (again) or reopened ticket."""
        async with self._db.session() as session:
            if await session.get(Department, department) is None:
                raise ReferenceRefused(f"no department {department!r}")
            if branch_id is not None and await session.get(Branch, branch_id) is None:
                raise ReferenceRefused(f"no branch {branch_id}")

        def decide(row: Ticket) -> Change:
            kind = check_move(row.number, row.status, "dispatched")
            values = {"status": "dispatched", "department": department, "branch_id": branch_id}
            before = {"department": row.department, "branch_id": row.branch_id}
            return Change(kind, "dispatched", values, note, {
                "department": department, "branch_id": branch_id, "before": before,
            })

        return await self._change(ticket_id, version, by, decide)

    async def schedule(
        self, ticket_id: int, start: dt.datetime, end: dt.datetime, engineer_id: int | None, *,
        note: str | None = None, version: int | None = None, by: Author = SYSTEM,
    ) -> TicketInfo:
        """An appointment window and the engineer: a dispatched ticket becomes scheduled; a
        scheduled one is re-scheduled (its status stays, a ``scheduled`` event records it)."""
        if end <= start:
            raise TransitionRefused("the appointment must end after it starts")
        engineer = await self._engineer(engineer_id)

        def decide(row: Ticket) -> Change:
            _check_engineer(engineer, row)
            kind = check_move(row.number, row.status, "scheduled")
            window = {"appointment_start": _iso(start), "appointment_end": _iso(end), "engineer_id": engineer_id}
            before = {k: row.fields.get(k) for k in window} if row.fields else {}
            values = {
                "status": "scheduled", "appointment_start": start, "appointment_end": end,
                "engineer_id": engineer_id, "fields": {**(row.fields or {}), **window},
            }
            return Change(kind, "scheduled", values, note, {**window, "before": before})

        return await self._change(ticket_id, version, by, decide)

    async def update_fields(
        self, ticket_id: int, fields: Mapping[str, Any], *, version: int | None = None,
        by: Author = SYSTEM, note: str | None = None,
    ) -> TicketInfo:
        """Change some of the kind's fields (a None value clears one): ``FieldsInvalid`` for a
        key or value the kind does not take; not on a closed or cancelled ticket. An
        ``engineer_id`` must be staff of the ticket's department and branch
        (:class:`ReferenceRefused`), as :meth:`schedule` checks."""
        engineer = await self._engineer(_as_id(fields.get("engineer_id")))

        def decide(row: Ticket) -> Change:
            if row.status in FINAL_TICKET_STATUSES:
                raise TransitionRefused(f"ticket {row.number} is {row.status}: its fields are final")
            given = validate_fields(row.type, fields)
            if given.get("engineer_id") is not None:
                if engineer is None or engineer.id != given["engineer_id"]:
                    raise ReferenceRefused(f"no user {given['engineer_id']}")
                _check_engineer(engineer, row)
            merged = {**(row.fields or {}), **given}
            merged = {k: v for k, v in merged.items() if v is not None}
            values: dict[str, Any] = {"fields": merged}
            field_values(values, given)
            before = {k: (row.fields or {}).get(k) for k in given}
            return Change("fields", row.status, values, note, {"changed": given, "before": before})

        return await self._change(ticket_id, version, by, decide)

    async def add_note(self, ticket_id: int, note: str, *, by: Author = SYSTEM) -> TicketInfo:
        def decide(row: Ticket) -> Change:
            return Change("note", row.status, {}, note)

        return await self._change(ticket_id, None, by, decide, bump=False)

    async def customer_answer(
        self, ticket_id: int, kind: str, note: str, *, actor: str = "ivr", payload: Mapping[str, Any] | None = None,
    ) -> TicketInfo:
        """The customer's answer to the appointment (``CUSTOMER_ANSWERS``): they keep it
        (``confirmed``) or ask for another time (``time_requested``), recorded in the history and
        pushed to the branch's work view like any event; the ticket itself is unchanged (no new
        version), the staff arrange the new time with ``schedule``."""
        if kind not in CUSTOMER_ANSWERS:
            raise ValueError(f"not a customer's answer: {kind!r}")

        def decide(row: Ticket) -> Change:
            if row.status in FINAL_TICKET_STATUSES:
                raise TransitionRefused(f"ticket {row.number} is {row.status}")
            return Change(kind, row.status, {}, note, dict(payload or {}))

        return await self._change(ticket_id, None, Author(None, actor), decide, bump=False)

    async def _engineer(self, engineer_id: int | None) -> _Engineer | None:
        """The user ``engineer_id`` as an engineer; :class:`ReferenceRefused` if there is none."""
        if engineer_id is None:
            return None
        if not 0 < engineer_id <= MAX_ID:
            raise ReferenceRefused(f"no user {engineer_id}")
        async with self._db.session() as session:
            user = await session.get(User, engineer_id)
        if user is None:
            raise ReferenceRefused(f"no user {engineer_id}")
        return _Engineer(user.id, user.role, user.department, user.branch_id)

    async def _change(
        self, ticket_id: int, version: int | None, by: Author, decide: Callable[[Ticket], Change],
        *, bump: bool = True,
    ) -> TicketInfo:
        async with self._db.session() as session:
            row = await session.get(Ticket, ticket_id)
            if row is None:
                raise TicketNotFound(f"no ticket {ticket_id}")
            current, number = row.status, row.number
            read = row.version
            if version is not None and version != read:
                raise TicketConflict(
                    f"ticket {number} changed meanwhile (version {read}, not {version}): reload it"
                )
            change = decide(row)
        now = self._clock()
        values = {**change.values, "updated_at": now}
        condition = [Ticket.id == ticket_id]
        if bump:
            values["version"] = Ticket.version + 1
            condition.append(Ticket.version == read)
        async with self._db.writing(), self._db.session() as session:
            result = await session.execute(
                update(Ticket).where(*condition).values(**values).execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                raise TicketConflict(f"ticket {number} changed meanwhile: reload it")
            event = TicketEvent(
                ticket_id=ticket_id, at=now, kind=change.kind, from_status=current, status=change.to,
                note=change.note, user_id=by.user_id, actor=by.actor, payload=change.payload,
            )
            session.add(event)
            await session.flush()
            fresh = await session.scalar(select(Ticket).where(Ticket.id == ticket_id))
            if fresh is None:
                raise TicketNotFound(f"no ticket {ticket_id}")
            await sla_columns(session, fresh, self._sla, now)
            await session.commit()
        ticket = ticket_info(fresh)
        bus_of(self._db).publish(ticket, [event_info(event)])
        return ticket


#: the largest id a row has (the columns are 32-bit integers)
MAX_ID = 2**31 - 1


def _as_id(value: Any) -> int | None:
    """An id given as a field (a number, or digits), for looking the user up beforehand."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass(frozen=True)
class _Engineer:
    id: int
    role: str
    department: str | None
    branch_id: int | None


def _check_engineer(engineer: _Engineer | None, row: Ticket) -> None:
    if engineer is not None and not engineer_fits(
        engineer.role, engineer.department, engineer.branch_id, row.department, row.branch_id
    ):
        raise ReferenceRefused(
            f"user {engineer.id} is not staff of ticket {row.number}'s department ({row.department})"
            + (f" and branch ({row.branch_id})" if row.branch_id is not None else "")
        )


def field_values(values: dict[str, Any], given: Mapping[str, Any]) -> None:
    """The fields the workflow also keeps as columns: the appointment and the engineer."""
    for key in ("appointment_start", "appointment_end"):
        if key in given:
            values[key] = None if given[key] is None else dt.datetime.fromisoformat(given[key])
    if "engineer_id" in given:
        values["engineer_id"] = given["engineer_id"]


def field_columns(row: Ticket, given: Mapping[str, Any]) -> None:
    values: dict[str, Any] = {}
    field_values(values, given)
    for key, value in values.items():
        setattr(row, key, value)


async def ticket_moves(session: AsyncSession, ticket_id: int) -> list[Move]:
    """The ticket's changes of status, in order."""
    rows = await session.execute(
        select(TicketEvent.at, TicketEvent.status)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.from_status != TicketEvent.status)
        .order_by(TicketEvent.id)
    )
    return [Move(at, status) for at, status in rows if status is not None]


async def sla_columns(session: AsyncSession, row: Ticket, sla: SlaRules, now: dt.datetime) -> SlaClock:
    """Set the row's SLA columns (due time, responded, completed) from its history."""
    clock = sla.clock(row.type, row.urgency, row.created_at, await ticket_moves(session, row.id), now)
    row.due_at = clock.due
    row.responded_at = clock.responded_at
    row.completed_at = clock.completed_at
    return clock


def _iso(value: dt.datetime) -> str:
    return value.isoformat()
