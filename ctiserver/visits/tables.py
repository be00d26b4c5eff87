"""Tables of return visits: the visits and every attempt at one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.customers import Customer
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.users import User
from ctiserver.vocabulary import VISIT_MODES, VISIT_OUTCOMES, VISIT_STATUSES


class Visit(Base):
    """One per completion of a ticket (the ``completed`` event it comes from is unique)."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(one_of("status", VISIT_STATUSES), name="status"),
        CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score"),
        Index("ix_visits_status_next_at", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    #: the ticket_events row (kind completed) the visit is owed for
    completed_event_id: Mapped[int] = mapped_column(Integer, unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey(Customer.id, ondelete="SET NULL"), index=True)
    #: the number to call, as found (the call that opened the ticket, or the customer's phone)
    number: Mapped[str | None] = mapped_column(String(64))
    #: the language the customer chose in the IVR (the automatic call's)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: failed attempts (no answer, busy, failed, no score)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: when it may be called (pending)
    next_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column(Integer)
    remarks: Mapped[str | None] = mapped_column(Text)
    #: the Linkedid of the last call placed for it
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the agent (extension) who called last
    agent: Mapped[str | None] = mapped_column(String(64))
    #: who recorded the result (None: the automatic call)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))
    #: the complaint ticket a low score opened
    complaint_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class VisitAttempt(Base):
    """One call: claimed (this row, the visit ``calling``) before anything is dialled."""

    __tablename__ = "visit_attempts"
    __table_args__ = (
        CheckConstraint(one_of("outcome", VISIT_OUTCOMES), name="outcome"),
        CheckConstraint(one_of("mode", VISIT_MODES), name="mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey(Visit.id, ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None while in flight (indexed: the dialler looks for attempts left by a dead server)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    agent: Mapped[str | None] = mapped_column(String(64))
    #: the ChannelId given to the Originate, also the call's Linkedid
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    server: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
