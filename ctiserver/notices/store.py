"""The notices' SQL: what a notice says is read through the tickets', customers' and users'
faces (``TicketInfo``, ``CustomerContact``, ``ProductInfo``, ``UserInfo``); the outbox, the
opt-outs and the engineers' phones are this feature's own tables.

The outbox is written with ``INSERT ... ON CONFLICT (key) DO NOTHING``: a ticket event the
feed hands over again (a crash before its cursor moved) owes nothing more. A notice is
claimed for sending by a compare-and-set (``pending`` -> ``sending``) committed before the
provider is asked, so no two senders (servers) send one notice, and one found ``sending``
after its sender died is marked ``unknown``, never sent again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.customers import CustomerContact, CustomerRepository
from ctiserver.notices.tables import SmsEngineerPhone, SmsInbound, SmsNotice, SmsOptOut
from ctiserver.storage.database import Database
from ctiserver.tickets import TicketRepository
from ctiserver.users import UserRepository

#: a number that takes SMS: a mainland mobile (national form) or any E.164 number abroad
_MOBILE = re.compile(r"1[3-9]\d{9}|\+\d{8,15}")


def is_mobile(normalized: str) -> bool:
    return bool(_MOBILE.fullmatch(normalized))


@dataclass(frozen=True)
class TicketFacts:
    """What a notice about one ticket may say, as text (empty when unknown)."""

    ticket_id: int
    number: str
    customer_id: int | None
    customer: str
    customer_phone: str | None
    address: str
    product: str
    fault: str
    engineer_id: int | None
    engineer: str
    engineer_phone: str | None
    appointment_start: dt.datetime | None
    appointment_end: dt.datetime | None


@dataclass(frozen=True)
class NoticeRow:
    """A notice as the ticket shows it."""

    id: int
    key: str
    ticket_id: int
    event_id: int
    notice: str
    recipient: str
    language: str
    phone: str | None
    text: str
    state: str
    attempts: int
    due_at: dt.datetime
    held_until: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    provider: str | None
    provider_id: str | None
    error: str | None
    template_code: str = ""
    params: str = "{}"

    def to_dict(self) -> dict[str, Any]:
        def moment(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat(timespec="seconds")

        return {
            "id": self.id, "key": self.key, "ticket_id": self.ticket_id, "event_id": self.event_id,
            "notice": self.notice, "recipient": self.recipient, "language": self.language,
            "phone": self.phone, "text": self.text, "state": self.state, "attempts": self.attempts,
            "due_at": moment(self.due_at), "held_until": moment(self.held_until),
            "created_at": moment(self.created_at), "sent_at": moment(self.sent_at),
            "provider": self.provider, "provider_id": self.provider_id, "error": self.error,
        }


def _row(notice: SmsNotice) -> NoticeRow:
    return NoticeRow(
        notice.id, notice.key, notice.ticket_id, notice.event_id, notice.notice, notice.recipient,
        notice.language, notice.phone, notice.text, notice.state, notice.attempts, notice.due_at,
        notice.held_until, notice.created_at, notice.sent_at, notice.provider, notice.provider_id,
        notice.error, notice.template_code, notice.params,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class NoticeStore:
    """The notices' own tables, and the facts of a ticket read through the other features'
    services (the composition root's instances; new ones over ``db`` when none is given)."""

    def __init__(
        self, db: Database, *, tickets: TicketRepository | None = None,
        customers: CustomerRepository | None = None, users: UserRepository | None = None,
    ) -> None:
        self._db = db
        self._tickets = tickets or TicketRepository(db)
        self._customers = customers or CustomerRepository(db)
        self._users = users or UserRepository(db)

    async def facts(self, ticket_id: int) -> TicketFacts | None:
        ticket = await self._tickets.get(ticket_id)
        if ticket is None:
            return None
        fields = ticket.fields
        customer: CustomerContact | None = None
        if ticket.customer_id is not None:
            customer = await self._customers.contact(ticket.customer_id)
        phone = next((n for n in customer.phones if is_mobile(n)), None) if customer is not None else None
        product = _text(fields.get("product_model") or fields.get("product"))
        if ticket.product_id is not None:
            found = await self._customers.product(ticket.product_id)
            if found is not None:
                product = f"{found.category} {found.model}".strip()
        address = _text(fields.get("address"))
        if not address and customer is not None:
            address = customer.address
        engineer_id = ticket.engineer_id
        engineer, engineer_phone = "", None
        if engineer_id is not None:
            user = await self._users.get(engineer_id)
            if user is not None:
                engineer = user.display_name or user.username
            async with self._db.session() as session:
                own = await session.get(SmsEngineerPhone, engineer_id)
                engineer_phone = own.phone if own is not None else None
        return TicketFacts(
            ticket_id=ticket.id, number=ticket.number, customer_id=ticket.customer_id,
            customer=customer.name if customer is not None else "", customer_phone=phone,
            address=address, product=product,
            fault=_text(fields.get("fault_symptom") or ticket.summary), engineer_id=engineer_id,
            engineer=engineer, engineer_phone=engineer_phone,
            appointment_start=ticket.appointment_start, appointment_end=ticket.appointment_end,
        )

    async def opted_out(self, customer_id: int | None) -> bool:
        if customer_id is None:
            return False
        async with self._db.session() as session:
            return await session.get(SmsOptOut, customer_id) is not None

    async def set_opt_out(self, customer_id: int, opted_out: bool, *, source: str, user_id: int | None) -> None:
        async with self._db.session() as session:
            if opted_out:
                found = await session.get(SmsOptOut, customer_id)
                if found is None:
                    session.add(SmsOptOut(customer_id=customer_id, source=source, user_id=user_id))
            else:
                await session.execute(delete(SmsOptOut).where(SmsOptOut.customer_id == customer_id))
            await session.commit()

    async def customer_exists(self, customer_id: int) -> bool:
        return await self._customers.get(customer_id) is not None

    async def set_engineer_phone(self, user_id: int, phone: str | None) -> bool:
        """False: no such user."""
        if await self._users.get(user_id) is None:
            return False
        async with self._db.session() as session:
            await session.execute(delete(SmsEngineerPhone).where(SmsEngineerPhone.user_id == user_id))
            if phone:
                session.add(SmsEngineerPhone(user_id=user_id, phone=phone))
            await session.commit()
            return True

    async def add(self, rows: Sequence[dict[str, Any]]) -> int:
        """The notices, each unless its key is there already; how many were new."""
        if not rows:
            return 0
        async with self._db.session() as session:
            insert = (postgresql.insert if self._db.engine.dialect.name == "postgresql" else sqlite.insert)
            added = 0
            for row in rows:
                result = await session.execute(
                    insert(SmsNotice).values(**row).on_conflict_do_nothing(index_elements=[SmsNotice.key])
                )
                added += int(getattr(result, "rowcount", 0) or 0)
            await session.commit()
            return added

    async def due(self, now: dt.datetime, limit: int = 20) -> list[NoticeRow]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(SmsNotice).where(SmsNotice.state == "pending", SmsNotice.due_at <= now)
                .order_by(SmsNotice.due_at, SmsNotice.id).limit(limit)
            )
            return [_row(r) for r in rows]

    async def next_due(self) -> dt.datetime | None:
        async with self._db.session() as session:
            # the column itself (SQLite's min() of a datetime column would be text)
            return await session.scalar(
                select(SmsNotice.due_at).where(SmsNotice.state == "pending").order_by(SmsNotice.due_at).limit(1)
            )

    async def claim(self, notice_id: int, now: dt.datetime) -> bool:
        """``pending`` -> ``sending``, committed; False if another sender had it."""
        async with self._db.session() as session:
            result = await session.execute(
                update(SmsNotice).where(SmsNotice.id == notice_id, SmsNotice.state == "pending")
                .values(state="sending", updated_at=now)
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0) == 1

    async def finish(self, notice_id: int, now: dt.datetime, **values: Any) -> None:
        """The claimed notice's outcome (its state among ``values``)."""
        async with self._db.session() as session:
            await session.execute(
                update(SmsNotice).where(SmsNotice.id == notice_id, SmsNotice.state == "sending")
                .values(updated_at=now, **values)
            )
            await session.commit()

    async def release_held(self, now: dt.datetime) -> int:
        """Notices held for quiet hours that are over (the settings changed): due now."""
        async with self._db.session() as session:
            result = await session.execute(
                update(SmsNotice).where(
                    SmsNotice.state == "pending", SmsNotice.held_until.is_not(None),
                    SmsNotice.due_at == SmsNotice.held_until, SmsNotice.due_at > now,
                ).values(due_at=now, updated_at=now)
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    async def orphans(self, before: dt.datetime) -> int:
        """Notices left ``sending`` since before ``before`` (their sender died): ``unknown``."""
        async with self._db.session() as session:
            result = await session.execute(
                update(SmsNotice).where(and_(SmsNotice.state == "sending", SmsNotice.updated_at < before))
                .values(state="unknown", updated_at=before,
                        error="the sender stopped while the provider was asked: maybe sent, not sent again")
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    async def of_ticket(self, ticket_id: int) -> list[NoticeRow]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(SmsNotice).where(SmsNotice.ticket_id == ticket_id).order_by(SmsNotice.id)
            )
            return [_row(r) for r in rows]

    async def inbound_seen(self, session: AsyncSession, message_id: str) -> bool:
        return await session.scalar(select(SmsInbound.id).where(SmsInbound.message_id == message_id)) is not None


def params_json(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False)
