"""The agent directory: who sits at which extension, with which skills."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.agents.tables import AgentRow
from ctiserver.storage.database import Database


@dataclass(frozen=True)
class AgentRecord:
    id: int
    extension: str
    name: str
    user_id: int | None
    #: queue names the agent serves; empty: every queue
    skills: tuple[str, ...]


def _record(row: AgentRow) -> AgentRecord:
    skills = tuple(s.strip() for s in (row.skills or "").split(",") if s.strip())
    return AgentRecord(row.id, row.extension, row.name, row.user_id, skills)


class AgentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[AgentRecord]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(AgentRow).order_by(AgentRow.extension))).all()
        return [_record(row) for row in rows]

    async def by_extension(self, extension: str) -> AgentRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(select(AgentRow).where(AgentRow.extension == extension))
        return _record(row) if row is not None else None

    async def for_user(self, user_id: int) -> AgentRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(select(AgentRow).where(AgentRow.user_id == user_id))
        return _record(row) if row is not None else None
