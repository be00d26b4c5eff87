"""Tables of callbacks: the tasks owed to missed callers, and every attempt at one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.customers import Customer
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.vocabulary import CALLBACK_OUTCOMES, CALLBACK_SOURCES, CALLBACK_STATUSES


class Callback(Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(one_of("status", CALLBACK_STATUSES), name="status"),
        CheckConstraint(one_of("source", CALLBACK_SOURCES), name="source"),
        Index("ix_callbacks_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the number to call back, as the caller gave it
    number: Mapped[str] = mapped_column(String(64))
    #: the number in the form misses are matched on (``model.number_key``)
    number_key: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey(Customer.id, ondelete="SET NULL"), index=True
    )
    #: the (first) missed call
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the queue whose agents call back
    queue: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="requested", server_default="requested")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: the first miss, and the last one joined to the task
    missed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_missed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    misses: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: how long the caller waited in the queue (the longest of the misses)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    #: what the caller chose in the IVR
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: failed attempts (no answer, busy, failed)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: the outcome of the last attempt
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: the agent a supervisor gave the task to, else any ready agent of the queue
    agent: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CallbackAttempt(Base):
    """One try: claimed (this row, the task ``dialing``) before anything is dialled."""

    __tablename__ = "callback_attempts"
    __table_args__ = (
        CheckConstraint(one_of("outcome", CALLBACK_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey(Callback.id, ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None while in flight (indexed: the dialler looks for attempts left by a dead server)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    agent: Mapped[str | None] = mapped_column(String(64))
    #: the ChannelId given to the Originate: how a restart finds the attempt in Asterisk
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: the server that claimed it
    server: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))


class CallbackMiss(Base):
    """One missed call folded into a task: a call is one miss however often it is reported
    (a journal replayed, two sources for one call)."""

    __tablename__ = "callback_misses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey(Callback.id, ondelete="CASCADE"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))
    wait_seconds: Mapped[float | None] = mapped_column(Float)
