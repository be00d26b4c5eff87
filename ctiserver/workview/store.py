"""What the work view reads: staff members' places, the department's engineers, tickets by id."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import or_, select

from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket, TicketInfo, ticket_info
from ctiserver.users import User
from ctiserver.workview.model import Place


@dataclass(frozen=True)
class Engineer:
    id: int
    username: str
    display_name: str | None
    branch_id: int | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "branch_id": self.branch_id}


class WorkViewStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def places(self, user_ids: Collection[int]) -> list[Place]:
        """The staff among ``user_ids``, with their department and branch."""
        if not user_ids:
            return []
        async with self._db.session() as session:
            rows = await session.execute(
                select(User.id, User.department, User.branch_id)
                .where(User.id.in_(list(user_ids)), User.role == "staff")
            )
            return [Place(user_id, department, branch_id) for user_id, department, branch_id in rows]

    async def place(self, user_id: int) -> Place | None:
        found = await self.places([user_id])
        return found[0] if found else None

    async def engineers(self, department: str, branch_id: int | None) -> list[Engineer]:
        """The department's staff; of a branch: its own and the department's without a branch."""
        query = select(User).where(User.role == "staff", User.department == department)
        if branch_id is not None:
            query = query.where(or_(User.branch_id == branch_id, User.branch_id.is_(None)))
        async with self._db.session() as session:
            rows = await session.scalars(query.order_by(User.display_name, User.username))
            return [Engineer(row.id, row.username, row.display_name, row.branch_id) for row in rows]

    async def tickets(self, ticket_ids: Collection[int]) -> dict[int, TicketInfo]:
        if not ticket_ids:
            return {}
        async with self._db.session() as session:
            rows = await session.scalars(select(Ticket).where(Ticket.id.in_(list(ticket_ids))))
            return {row.id: ticket_info(row) for row in rows}
