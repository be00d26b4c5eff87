"""The index of recordings: one row per finished file, written once it is complete."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime


class RecordingRow(Base):
    """No foreign keys: the index outlives the calls, agents and customers it names."""

    __tablename__ = "recordings"

    #: our own id (32 hex digits), which also names the file
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: the call's Linkedid: a transferred call's recordings share it
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    leg_uniqueid: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(255))
    #: the agent's extension
    agent: Mapped[str | None] = mapped_column(String(32), index=True)
    agent_interface: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: seconds of audio in the file
    duration: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    #: SHA-256 of the file as indexed, None if there was no file
    checksum: Mapped[str | None] = mapped_column(String(64))
    #: relative to the recordings directory
    path: Mapped[str] = mapped_column(String(255))
    #: why it is not playable (missing, empty, silent, deleted); None: playable
    flag: Mapped[str | None] = mapped_column(String(16))
    #: [[start, end], ...] seconds from the start the agent paused it; blanked in the file
    gaps: Mapped[list[list[float]] | None] = mapped_column(JSON)
    #: put on hold by a supervisor: never purged
    hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
