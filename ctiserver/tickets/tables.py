"""Tables of tickets: after-sales tickets, their per-day numbering, their events and the
cursors of the feed that follows the events."""

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

from ctiserver.customers import Customer, Product
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.users import User
from ctiserver.vocabulary import (
    TICKET_EVENT_KINDS,
    TICKET_SOURCES,
    TICKET_STATUSES,
    TICKET_TYPES,
    TICKET_URGENCIES,
)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(one_of("type", TICKET_TYPES), name="type"),
        CheckConstraint(one_of("status", TICKET_STATUSES), name="status"),
        CheckConstraint(one_of("source", TICKET_SOURCES), name="source"),
        CheckConstraint(one_of("urgency", TICKET_URGENCIES), name="urgency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: e.g. R20261122-0001: type letter, local date, per-day sequence
    number: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new", index=True)
    #: incremented by every change: a change made with a stale version is refused
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    department: Mapped[str] = mapped_column(String(32), index=True)
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), index=True
    )
    #: the staff member who does the work (an engineer); also ``fields.engineer_id``
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"), index=True)
    urgency: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
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
    appointment_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    appointment_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: the first move to scheduled or in_progress
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: the last move to completed (cleared when reopened)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: the SLA's next due time (response, then resolution); null when done or paused
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: the highest escalation recorded (0: none; 1: the branch manager; 2: the supervisors)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


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
    kind: Mapped[str] = mapped_column(String(16), index=True)
    #: the ticket's status before and after the event
    from_status: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    #: who: null is the system (the IVR, the SLA watch)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))
    #: who, as text: a username, "ivr", "sla"
    actor: Mapped[str | None] = mapped_column(String(64))
    #: what else the event says (the branch dispatched to, the appointment, the fields changed...)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FeedCursor(Base):
    """How far a consumer of the ticket-event feed (``ctiserver.tickets.feed``) has acted on
    ``ticket_events``. Claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) while the consumer
    acts, so that two servers never act for one consumer at once."""

    __tablename__ = "feed_cursors"

    #: the consumer's name: "visits", "webhook:<endpoint>"...
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: the ``ticket_events.id`` last acted on (or passed over)
    last_event_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
