"""Tables of ivr: iVR: voicemail left by callers, published flow versions, runs, post-call surveys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.customers import Customer
from ctiserver.storage.base import Base, UTCDateTime, utcnow


class Voicemail(Base):
    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_linkedid: Mapped[str] = mapped_column(String(64), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey(Customer.id, ondelete="SET NULL"), index=True
    )
    #: host path of the recording, with its extension
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    listened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow", "number", name="uq_flow_versions_flow_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    #: 1, 2, 3... per flow, in publishing order
    number: Mapped[int] = mapped_column(Integer)
    #: content hash of ``source`` (Flow.version)
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: unified diff against the version that was active before; None for the first
    diff: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IvrRun(Base):
    __tablename__ = "ivr_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_linkedid: Mapped[str] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(64))
    #: content hash of the flow that ran
    flow_version: Mapped[str] = mapped_column(String(64))
    flow_version_number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: [{node, kind, digits, result, at}], ``at`` in seconds since the run started
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    variables: Mapped[dict[str, str]] = mapped_column(JSON)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ended_by_hangup: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    error: Mapped[str | None] = mapped_column(Text)


class CallSurvey(Base):
    __tablename__ = "call_surveys"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_linkedid: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

