"""Tables of knowledge: knowledge base articles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.vocabulary import KB_LANGUAGES


class KnowledgeArticle(Base):
    __tablename__ = "knowledge_articles"
    __table_args__ = (CheckConstraint(one_of("language", KB_LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    #: comma-separated, e.g. "air conditioner,cooling"
    tags: Mapped[str] = mapped_column(Text, default="", server_default="")
    reads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )

