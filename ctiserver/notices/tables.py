"""Tables of SMS notices: the outbox (one row per notice owed, its key unique), the
customers who opted out, the engineers' mobile numbers, and the inbound SMS taken."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.notices.model import STATES
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow


class SmsNotice(Base):
    """One notice owed for one ticket event to one recipient (``key`` unique: written once
    whatever replays the event), and its delivery state."""

    __tablename__ = "sms_notices"
    __table_args__ = (
        CheckConstraint(one_of("state", STATES), name="state"),
        Index("ix_sms_notices_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(Integer)
    notice: Mapped[str] = mapped_column(String(32))
    #: "customer" or "engineer"
    recipient: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    template_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: the names the text was made from (a provider's own templates take them)
    params: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: failed sends
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: when it may be sent (pending): now, after a back-off, or when quiet hours end
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: held for quiet hours until then (None: never held)
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    provider: Mapped[str | None] = mapped_column(String(16))
    #: the provider's id of the accepted message (Aliyun's BizId)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)


class SmsOptOut(Base):
    """A customer who asked for no SMS (at the desk, or by replying T)."""

    __tablename__ = "sms_optouts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: "desk" or "sms"
    source: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SmsEngineerPhone(Base):
    """The mobile number an engineer's task notices go to."""

    __tablename__ = "sms_engineer_phones"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(64))


class SmsInbound(Base):
    """One inbound SMS taken (``message_id`` unique: a callback repeated acts once)."""

    __tablename__ = "sms_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    phone: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    #: "opened", "noted", "opted_out", "unknown" (no customer has the number)
    action: Mapped[str] = mapped_column(String(16))
