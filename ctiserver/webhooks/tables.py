"""Tables of webhooks: every attempt (each endpoint's cursor is the ticket-event feed's,
``feed_cursors``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, utcnow


class WebhookAttempt(Base):
    """One POST of one event to one endpoint, for the record."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint_id", "endpoint", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the HTTP status answered; None when there was no answer
    status_code: Mapped[int | None] = mapped_column(Integer)
    #: why there was no answer (refused, timed out...)
    error: Mapped[str | None] = mapped_column(Text)
    #: seconds the attempt took
    duration: Mapped[float] = mapped_column(Float)
