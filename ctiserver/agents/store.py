"""The agent directory: who sits at which extension, with which skills."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.storage.database import Database
from ctiserver.storage.models import Agent


@dataclass(frozen=True)
class AgentRecord:
    id: int
    extension: str
    name: str
    user_id: int | None
    #: queue names the agent serves; empty: every queue
    skills: tuple[str, ...]


def _record(row: Agent) -> AgentRecord:
    skills = tuple(s.strip() for s in (row.skills or "").split(",") if s.strip())
    return AgentRecord(row.id, row.extension, row.name, row.user_id, skills)


class AgentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[AgentRecord]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(Agent).order_by(Agent.extension))).all()
        return [_record(row) for row in rows]

    async def by_extension(self, extension: str) -> AgentRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(select(Agent).where(Agent.extension == extension))
        return _record(row) if row is not None else None

    async def for_user(self, user_id: int) -> AgentRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(select(Agent).where(Agent.user_id == user_id))
        return _record(row) if row is not None else None
