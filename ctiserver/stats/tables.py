"""Tables of stats: the statistics log's records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base


class StatsRecordRow(Base):
    """One record of ``ctiserver.stats.model`` (``record_to_dict``), by when it happened."""

    __tablename__ = "stats_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``ctiserver.stats.store.record_key``: the same record stored twice is one row
    key: Mapped[str] = mapped_column(String(32), unique=True)
    #: epoch seconds: an offer, an answer, the end of an agent's interval
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

