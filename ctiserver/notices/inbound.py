"""Inbound SMS: a provider's push of the messages customers sent to the hotline's number.

The push is trusted when it carries ``X-CTI-Timestamp`` and ``X-CTI-Signature`` (HMAC-SHA256
of ``timestamp.body`` with ``sms.inbound_secret``, within 5 minutes), or, for a provider that
cannot sign (Aliyun's SmsUpReport push), ``?token=`` equal to the secret. Each message is
taken once (its provider id unique; recorded before it is acted on): from a number no
customer has, recorded only; "T"/"退订" opts the customer out; otherwise a note on the
customer's newest open ticket, or a new ``inquiry`` ticket (source ``sms``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ctiserver.customers import CustomerRepository
from ctiserver.notices.model import asks_opt_out
from ctiserver.notices.store import NoticeStore
from ctiserver.notices.tables import SmsInbound
from ctiserver.storage.database import Database
from ctiserver.tickets import Author, TicketRepository

log = logging.getLogger(__name__)

#: the longest message text kept
MAX_TEXT = 1000
SMS_AUTHOR = Author(None, "sms")


class InboundRefused(ValueError):
    """A push that is not JSON of the expected shape."""


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    phone: str
    text: str


def trusted(secret: str, *, timestamp: str | None, signature: str | None, token: str | None, body: bytes,
            now: float, tolerance: float = 300.0) -> bool:
    if not secret:
        return False
    if token is not None:
        return hmac.compare_digest(token.encode(), secret.encode())
    if timestamp is None or signature is None:
        return False
    try:
        if abs(now - int(timestamp)) > tolerance:
            return False
    except ValueError:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def parse(body: bytes) -> list[InboundMessage]:
    """Aliyun's SmsUpReport (a JSON list of {phone_number, content, sequence_id...}) or one
    such object, or ``{"messages": [...]}`` with ``id``, ``phone``, ``text``."""
    try:
        found: Any = json.loads(body)
    except ValueError as exc:
        raise InboundRefused("the body is not JSON") from exc
    if isinstance(found, dict):
        found = found.get("messages", [found])
    if not isinstance(found, list) or len(found) > 100:
        raise InboundRefused("expected a list of at most 100 messages")
    messages = []
    for index, item in enumerate(found):
        if not isinstance(item, dict):
            raise InboundRefused(f"message {index}: not an object")
        ident = item.get("sequence_id", item.get("id"))
        phone = item.get("phone_number", item.get("phone"))
        text = item.get("content", item.get("text"))
        if ident is None or not isinstance(phone, str) or not isinstance(text, str) or not phone.strip():
            raise InboundRefused(f"message {index}: needs an id (sequence_id), phone_number and content")
        messages.append(InboundMessage(str(ident)[:128], phone.strip()[:64], text.strip()[:MAX_TEXT]))
    return messages


class InboundSms:
    def __init__(
        self, db: Database, store: NoticeStore, customers: CustomerRepository, tickets: TicketRepository,
    ) -> None:
        self._db = db
        self._store = store
        self._customers = customers
        self._tickets = tickets

    async def take(self, message: InboundMessage) -> str:
        """What was done: opened, noted, opted_out, unknown, or repeated (taken before)."""
        found = await self._customers.find_by_phone(message.phone)
        customer_id = found[0].id if found else None
        async with self._db.session() as session:
            row = SmsInbound(message_id=message.message_id, phone=message.phone, text=message.text,
                             customer_id=customer_id, action="taking")
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                return "repeated"
            row_id = row.id
        action, ticket_id = "unknown", None
        if customer_id is not None:
            action, ticket_id = await self._act(customer_id, message)
        async with self._db.session() as session:
            await session.execute(update(SmsInbound).where(SmsInbound.id == row_id)
                                  .values(action=action, ticket_id=ticket_id))
            await session.commit()
        log.info("inbound sms %s from %s: %s (ticket %s)", message.message_id, message.phone, action, ticket_id)
        return action

    async def _act(self, customer_id: int, message: InboundMessage) -> tuple[str, int | None]:
        if asks_opt_out(message.text):
            await self._store.set_opt_out(customer_id, True, source="sms", user_id=None)
            return "opted_out", None
        note = f"短信 / SMS {message.phone}: {message.text}"
        open_tickets = await self._tickets.open_for_customer(customer_id)
        if open_tickets:
            ticket = open_tickets[0]
            await self._tickets.add_note(ticket.id, note, by=SMS_AUTHOR)
            return "noted", ticket.id
        opened = await self._tickets.open(
            "inquiry", message.text[:200] or "SMS", {}, customer_id=customer_id, source="sms", actor="sms",
        )
        await self._tickets.add_note(opened.id, note, by=SMS_AUTHOR)
        return "opened", opened.id
