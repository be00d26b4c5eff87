"""The SLA watch: a supervised task that looks at every ticket still being worked on, keeps its
due time, escalates it as it nears its target (level 1: its branch's manager, level 2 and
beyond: the supervisors; thresholds in ``tickets.escalate_at``) with an ``escalated``
event per level, and records its breach once (``breached`` event, ``breached_at``).

Each ticket is changed in its own transaction, conditioned on the level it had, so two
servers watching one database never escalate a ticket twice. A paused or finished
ticket is not escalated; its version does not change (it is not a user's change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.dispatch import Branch
from ctiserver.storage.database import Database
from ctiserver.tickets.bus import bus_of
from ctiserver.tickets.infos import event_info, ticket_info
from ctiserver.tickets.model.sla import Move, SlaClock, SlaRules
from ctiserver.tickets.model.workflow import DONE_STATUSES, PAUSED_STATUSES
from ctiserver.tickets.tables import Ticket, TicketEvent

log = logging.getLogger(__name__)

SLA_ACTOR = "sla"
#: tickets looked at per transaction of the watch's reading
BATCH = 500


async def moves_of(session: AsyncSession, ids: list[int]) -> dict[int, list[Move]]:
    """The changes of status of these tickets, by ticket, in order."""
    found: dict[int, list[Move]] = {}
    if not ids:
        return found
    rows = await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.status)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.from_status != TicketEvent.status)
        .order_by(TicketEvent.id)
    )
    for ticket_id, at, status in rows:
        if status is not None:
            found.setdefault(ticket_id, []).append(Move(at, status))
    return found


def notified(level: int, manager_user_id: int | None) -> dict[str, Any]:
    """Who an escalation of ``level`` is for: the branch's manager first (the supervisors when
    the branch has none), the supervisors beyond."""
    if level == 1 and manager_user_id is not None:
        return {"notify": "branch_manager", "user_id": manager_user_id}
    return {"notify": "supervisors", "user_id": None}


class SlaWatch:
    def __init__(
        self,
        db: Database,
        sla: SlaRules,
        clock: Callable[[], dt.datetime],
        *,
        told: Callable[[dict[str, Any]], None] = lambda event: None,
    ) -> None:
        """``told`` gets each escalation and breach written (the live push)."""
        self._db = db
        self._sla = sla
        self._clock = clock
        self._told = told

    async def run(self, interval: float) -> None:
        while True:
            await self.check()
            await asyncio.sleep(interval)

    async def check(self) -> int:
        """One look at every running ticket; the number of events written. Tickets are read a
        batch at a time with their moves and their branch's manager, in three queries."""
        written, after = 0, 0
        while True:
            now = self._clock()
            async with self._db.session() as session:
                rows = list(await session.scalars(
                    select(Ticket)
                    .where(Ticket.status.not_in([*DONE_STATUSES, *PAUSED_STATUSES]), Ticket.id > after)
                    .order_by(Ticket.id).limit(BATCH)
                ))
                ids = [row.id for row in rows]
                moves = await moves_of(session, ids)
                branches = {row.branch_id for row in rows if row.branch_id is not None}
                found = await session.execute(
                    select(Branch.id, Branch.manager_user_id).where(Branch.id.in_(branches))
                )
                managers: dict[int, int | None] = dict(found.all())
            for row in rows:
                clock = self._sla.clock(row.type, row.urgency, row.created_at, moves.get(row.id, []), now)
                written += await self._record(row, clock, managers.get(row.branch_id or 0), now)
            if len(rows) < BATCH:
                return written
            after = rows[-1].id

    async def _record(self, row: Ticket, clock: SlaClock, manager: int | None, now: dt.datetime) -> int:
        ticket_id, level, breached = row.id, row.escalation_level, row.breached_at is not None
        number, status, due_at = row.number, row.status, row.due_at
        new_levels = range(level + 1, clock.level + 1)
        breach = clock.breached and not breached
        if not new_levels and not breach and due_at == clock.due:
            return 0  # nothing to write
        values: dict[str, Any] = {"due_at": clock.due}
        if new_levels:
            values["escalation_level"] = clock.level
        if breach:
            values["breached_at"] = now
        condition = [Ticket.id == ticket_id, Ticket.escalation_level == level]
        if breach:
            condition.append(Ticket.breached_at.is_(None))
        async with self._db.session() as session:
            result = await session.execute(
                update(Ticket).where(*condition).values(**values).execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return 0  # another watch got there first
            events = []
            for reached in new_levels:
                payload = {"level": reached, "used": round(clock.used, 3), "due_at": _iso(clock.due),
                           **notified(reached, manager)}
                events.append(TicketEvent(ticket_id=ticket_id, at=now, kind="escalated", from_status=status,
                                          status=status, actor=SLA_ACTOR, payload=payload))
            if breach:
                events.append(TicketEvent(
                    ticket_id=ticket_id, at=now, kind="breached", from_status=status, status=status,
                    actor=SLA_ACTOR, payload={"response_due": _iso(clock.response_due),
                                              "resolution_due": _iso(clock.resolution_due)},
                ))
            session.add_all(events)
            await session.commit()
        bus_of(self._db).publish(replace(ticket_info(row), **values), [event_info(event) for event in events])
        for event in events:
            self._told({"ticket_id": ticket_id, "number": number, "kind": event.kind, **event.payload})
        return len(events)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
