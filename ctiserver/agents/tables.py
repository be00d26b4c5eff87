"""Tables of agents: the agent directory: who answers which extension."""

from __future__ import annotations

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base
from ctiserver.users import User


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extension: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))
    #: comma-separated queue/skill names, e.g. "support,repair"
    skills: Mapped[str] = mapped_column(Text, default="", server_default="")

