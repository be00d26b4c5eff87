"""Tables of callbacks: callback requests owed to callers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.customers.tables import Customer
from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.vocabulary import CALLBACK_STATUSES


class Callback(Base):
    __tablename__ = "callbacks"
    __table_args__ = (CheckConstraint(one_of("status", CALLBACK_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the number to call back, as the caller gave it
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey(Customer.id, ondelete="SET NULL"), index=True
    )
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

