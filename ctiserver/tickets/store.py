"""After-sales tickets: opened by the IVR or an agent, dispatched to a department and a branch,
worked through the workflow (``changes``), timed by the SLA.

Ticket numbers read like ``R20261122-0001``: the type's letter, the local date of
the hotline and the day's sequence over all types, so a caller can read one out
and an agent can tell its age and kind at a glance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.agents import AgentRow
from ctiserver.calendar import DayRules
from ctiserver.customers import Customer
from ctiserver.dispatch import rules_in
from ctiserver.dispatch.model import match
from ctiserver.settings import HotlineSettings, TicketSettings
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database
from ctiserver.tickets.bus import bus_of
from ctiserver.tickets.changes import TicketChanges, field_columns
from ctiserver.tickets.infos import TicketEventInfo, TicketInfo, event_info, ticket_info
from ctiserver.tickets.listing import TicketFilter, TicketViewer, order_of, visible_to
from ctiserver.tickets.model.kinds import validate_fields
from ctiserver.tickets.model.sla import Move, SlaRules
from ctiserver.tickets.parties import ticket_parties
from ctiserver.tickets.tables import Ticket, TicketCounter, TicketEvent
from ctiserver.users import User
from ctiserver.vocabulary import (
    DEPARTMENT_BY_TYPE,
    OPEN_TICKET_STATUSES,
    TICKET_SOURCES,
    TICKET_TYPES,
    TICKET_URGENCIES,
)

LETTER_BY_TYPE: Mapping[str, str] = {
    "repair": "R",
    "complaint": "C",
    "installation": "I",
    "moving": "M",
    "removal": "D",
    "inquiry": "Q",
}
#: the hotline's time zone when none is given (the setting's default; the server passes the setting)
DEFAULT_TIMEZONE = HotlineSettings().timezone

_UPSERT: dict[str, Callable[[type[TicketCounter]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def sla_rules(settings: TicketSettings, timezone: str, days: DayRules | None = None) -> SlaRules:
    """``days``: the business calendar's dates (``DayRules.from_settings(settings.calendar)``);
    None: only tickets.holidays."""
    return SlaRules.parse(sla=settings.sla, hours=settings.hours, holidays=settings.holidays,
                          timezone=timezone, escalate_at=settings.escalate_at, days=days)


class TicketRepository(TicketChanges):
    """The tickets; the transition API (``move``, ``dispatch``, ``schedule``...) is
    :class:`ctiserver.tickets.changes.TicketChanges`."""

    def __init__(
        self,
        db: Database,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        clock: Callable[[], dt.datetime] = utcnow,
        sla: SlaRules | None = None,
    ) -> None:
        self._db = db
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self._sla = sla or sla_rules(TicketSettings(), timezone)

    @property
    def sla(self) -> SlaRules:
        return self._sla

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
        actor: str | None = None,
        urgency: str = "normal",
    ) -> TicketInfo:
        """Insert the ticket and its ``created`` event, and dispatch it by the rules (a
        ``dispatched`` event) when one matches its kind and the customer's region, in one
        transaction. A VIP customer's ticket is urgent. Fields are checked against the kind's
        (other keys, which the IVR sets, are kept as text)."""
        if type not in TICKET_TYPES:
            expected = ", ".join(TICKET_TYPES)
            raise ValueError(f"unknown ticket type {type!r}; expected one of {expected}")
        if source not in TICKET_SOURCES:
            raise ValueError(f"unknown ticket source {source!r}")
        if urgency not in TICKET_URGENCIES:
            raise ValueError(f"unknown urgency {urgency!r}")
        values = validate_fields(type, fields, free=True)
        now = self._clock()
        day = now.astimezone(self._zone).strftime("%Y%m%d")
        who = actor or ("ivr" if source == "ivr" and user_id is None else None)
        async with self._db.session() as session:  # read first: on SQLite a writer must not have read
            customer = None if customer_id is None else await session.get(Customer, customer_id)
            vip = customer is not None and customer.level == "vip"
            province, city = (customer.province, customer.city) if customer is not None else (None, None)
            target = match(await rules_in(session), type, province, city)
        row = Ticket(
            type=type, status="new" if target is None else "dispatched", version=1,
            department=target.department if target is not None else DEPARTMENT_BY_TYPE[type],
            branch_id=None if target is None else target.branch_id, summary=summary, fields=values,
            customer_id=customer_id, product_id=product_id, call_linkedid=call_linkedid, source=source,
            created_by_user_id=user_id, created_at=now, updated_at=now,
            urgency="urgent" if vip else urgency, escalation_level=0,
        )
        field_columns(row, values)
        # the history written below holds one change of status at most: new -> dispatched
        clock = self._sla.clock(type, row.urgency, now, [Move(now, "dispatched")] if target else [], now)
        row.due_at, row.responded_at, row.completed_at = clock.due, clock.responded_at, clock.completed_at
        events = [TicketEvent(
            at=now, kind="created", from_status=None, status="new",
            user_id=user_id, actor=who, payload={"source": source, "vip": vip},
        )]
        if target is not None:
            events.append(TicketEvent(
                at=now, kind="dispatched", from_status="new", status="dispatched",
                user_id=None, actor="dispatch", payload={
                    "department": target.department, "branch_id": target.branch_id,
                    "rule_id": target.rule_id, "branch_rule_id": target.branch_rule_id,
                    "province": province, "city": city,
                },
            ))
        # the write transaction: the day's counter (which takes SQLite's write lock), the
        # ticket, its events, the commit; everything else was decided before
        async with self._db.writing(), self._db.session() as session:
            seq = await _next_sequence(session, self._db.engine.dialect.name, day)
            row.number = f"{LETTER_BY_TYPE[type]}{day}-{seq:04d}"
            session.add(row)
            await session.flush()
            for event in events:
                event.ticket_id = row.id
            session.add_all(events)
            await session.flush()
            await session.commit()
        ticket = ticket_info(row)
        bus_of(self._db).publish(ticket, [event_info(event) for event in events])
        return ticket

    async def get(self, ticket_id: int) -> TicketInfo | None:
        async with self._db.session() as session:
            row = await session.get(Ticket, ticket_id)
            return None if row is None else ticket_info(row)

    async def get_by_number(self, number: str) -> TicketInfo | None:
        async with self._db.session() as session:
            row = await session.scalar(select(Ticket).where(Ticket.number == number))
            return None if row is None else ticket_info(row)

    async def open_for_customer(self, customer_id: int, *, limit: int = 5) -> list[TicketInfo]:
        """The customer's tickets not closed nor cancelled, newest first (what the IVR reads out)."""
        where = (Ticket.customer_id == customer_id) & Ticket.status.in_(OPEN_TICKET_STATUSES)
        async with self._db.session() as session:
            rows = await session.scalars(select(Ticket).where(where).order_by(Ticket.id.desc()).limit(limit))
            return [ticket_info(row) for row in rows]

    async def by_keyed_number(self, digits: str) -> TicketInfo | None:
        """The ticket whose number a caller keyed in on a phone: its digits without the letter and
        the dash (``R20261122-0001`` is ``202611220001``); None if there is none."""
        if not digits.isascii() or not digits.isdigit() or not 9 <= len(digits) <= 16:
            return None
        day, sequence = digits[:8], int(digits[8:])
        numbers = [f"{letter}{day}-{sequence:04d}" for letter in LETTER_BY_TYPE.values()]
        async with self._db.session() as session:
            row = await session.scalar(select(Ticket).where(Ticket.number.in_(numbers)).limit(1))
            return None if row is None else ticket_info(row)

    async def list_for_call(self, linkedid: str) -> list[TicketInfo]:
        """The call's tickets in the order they were opened."""
        return await self._list(Ticket.call_linkedid == linkedid, Ticket.id)

    async def list_for_customer(self, customer_id: int, viewer: TicketViewer | None = None) -> list[TicketInfo]:
        """The customer's tickets, newest first; only those ``viewer`` may see (None: all)."""
        where = Ticket.customer_id == customer_id
        if viewer is not None:
            where = where & visible_to(viewer)
        return await self._list(where, Ticket.id.desc())

    async def parties(self, ticket: TicketInfo, viewer: TicketViewer) -> dict[str, Any]:
        """The ticket's customer and product (with its other tickets ``viewer`` may see):
        ``ctiserver.tickets.parties``."""
        return await ticket_parties(self._db, ticket, viewer)

    async def search(self, where: TicketFilter, viewer: TicketViewer | None = None) -> list[TicketInfo]:
        """Escalated and urgent unfinished tickets first, then by the nearest due time;
        only those ``viewer`` may see (None: all)."""
        query = select(Ticket).where(*where.clauses()).order_by(*order_of()).limit(where.limit)
        if viewer is not None:
            query = query.where(visible_to(viewer))
        async with self._db.session() as session:
            return [ticket_info(row) for row in await session.scalars(query)]

    async def viewer(self, user_id: int, role: str) -> TicketViewer:
        """Who asks: a staff member's department and branch, an agent's extension."""
        async with self._db.session() as session:
            user = await session.get(User, user_id)
            agent = (await session.execute(
                select(AgentRow.extension, AgentRow.name).where(AgentRow.user_id == user_id)
            )).first()
        department = user.department if user is not None else None
        branch_id = user.branch_id if user is not None else None
        extension, name = (agent.extension, agent.name) if agent is not None else (None, None)
        return TicketViewer(user_id, role, department, branch_id, extension, agent_name=name)

    async def user_sees(self, user_id: int, ticket_id: int) -> bool:
        """Whether the user ``user_id`` (whatever their role) may see the ticket; False if no such user."""
        async with self._db.session() as session:
            role = await session.scalar(select(User.role).where(User.id == user_id))
        return role is not None and await self.visible(ticket_id, await self.viewer(user_id, role))

    async def visible(self, ticket_id: int, viewer: TicketViewer) -> bool:
        async with self._db.session() as session:
            found = await session.scalar(
                select(Ticket.id).where(Ticket.id == ticket_id, visible_to(viewer))
            )
            return found is not None

    async def visible_ids(self, ticket_ids: Collection[int], viewer: TicketViewer) -> set[int]:
        """The tickets among ``ticket_ids`` that ``viewer`` may see."""
        if not ticket_ids:
            return set()
        async with self._db.session() as session:
            found = await session.scalars(
                select(Ticket.id).where(Ticket.id.in_(sorted(set(ticket_ids))), visible_to(viewer))
            )
            return set(found)

    async def customers_seen(self, customer_ids: Collection[int], viewer: TicketViewer) -> set[int]:
        """The customers among ``customer_ids`` with a ticket ``viewer`` may see."""
        if not customer_ids:
            return set()
        async with self._db.session() as session:
            found = await session.scalars(
                select(Ticket.customer_id).distinct()
                .where(Ticket.customer_id.in_(sorted(set(customer_ids))), visible_to(viewer))
            )
            return {int(found_id) for found_id in found if found_id is not None}

    async def events(self, ticket_id: int, *, after: int = 0) -> list[TicketEventInfo]:
        """The ticket's history in order (``after``: from this event id on, excluded)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.id > after)
                .order_by(TicketEvent.id)
            )
            return [event_info(row) for row in rows]

    async def events_after(
        self, cursor: int, *, kinds: tuple[str, ...] = (), limit: int = 500
    ) -> list[TicketEventInfo]:
        """Every ticket's events after the id ``cursor``, in id order (a consumer's feed)."""
        query = select(TicketEvent).where(TicketEvent.id > cursor).order_by(TicketEvent.id).limit(limit)
        if kinds:
            query = query.where(TicketEvent.kind.in_(kinds))
        async with self._db.session() as session:
            return [event_info(row) for row in await session.scalars(query)]

    async def _list(self, where: Any, order: Any) -> list[TicketInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(select(Ticket).where(where).order_by(order))
            return [ticket_info(row) for row in rows]


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
