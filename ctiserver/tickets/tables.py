"""Tables of tickets: after-sales tickets, their per-day numbering and their events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.customers.tables import Customer, Product
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.users.tables import User
from ctiserver.vocabulary import TICKET_EVENT_KINDS, TICKET_SOURCES, TICKET_STATUSES, TICKET_TYPES


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(one_of("type", TICKET_TYPES), name="type"),
        CheckConstraint(one_of("status", TICKET_STATUSES), name="status"),
        CheckConstraint(one_of("source", TICKET_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: e.g. R20261122-0001: type letter, local date, per-day sequence
    number: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    department: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey(Customer.id, ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey(Product.id, ondelete="SET NULL"))
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey(User.id, ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TicketCounter(Base):
    """Last ticket sequence number handed out per local day (YYYYMMDD).

    Incremented with an upsert in the transaction that inserts the ticket, so
    concurrent openers queue on the row instead of racing for the same number.
    """

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    __table_args__ = (CheckConstraint(one_of("kind", TICKET_EVENT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    #: the ticket's status after the event
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))

