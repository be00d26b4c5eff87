"""Departments, branches and dispatch rules in the database; admins edit the rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.dispatch.model import Rule, Target, match
from ctiserver.dispatch.tables import Branch, Department, DispatchRule
from ctiserver.storage.database import Database
from ctiserver.users import User


@dataclass(frozen=True)
class BranchInfo:
    id: int
    name: str
    province: str
    city: str | None
    manager_user_id: int | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "province": self.province, "city": self.city,
            "manager_user_id": self.manager_user_id,
        }


def _rule(row: DispatchRule) -> Rule:
    return Rule(row.id, row.kind, row.province, row.city, row.department, row.branch_id)


def _branch(row: Branch) -> BranchInfo:
    return BranchInfo(row.id, row.name, row.province, row.city, row.manager_user_id)


async def rules_in(session: AsyncSession) -> list[Rule]:
    return [_rule(row) for row in await session.scalars(select(DispatchRule).order_by(DispatchRule.id))]


class DispatchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def departments(self) -> dict[str, str]:
        async with self._db.session() as session:
            rows = await session.scalars(select(Department).order_by(Department.code))
            return {row.code: row.name for row in rows}

    async def add_department(self, code: str, name: str) -> None:
        async with self._db.session() as session:
            session.add(Department(code=code, name=name))
            await session.commit()

    async def branches(self) -> list[BranchInfo]:
        async with self._db.session() as session:
            return [_branch(row) for row in await session.scalars(select(Branch).order_by(Branch.id))]

    async def branch(self, branch_id: int) -> BranchInfo | None:
        async with self._db.session() as session:
            row = await session.get(Branch, branch_id)
            return None if row is None else _branch(row)

    async def add_branch(
        self, name: str, province: str, city: str | None = None, manager_user_id: int | None = None
    ) -> BranchInfo:
        async with self._db.session() as session:
            if manager_user_id is not None and await session.get(User, manager_user_id) is None:
                raise ValueError(f"no user {manager_user_id}")
            row = Branch(name=name, province=province, city=city, manager_user_id=manager_user_id)
            session.add(row)
            await session.commit()
            return _branch(row)

    async def rules(self) -> list[Rule]:
        async with self._db.session() as session:
            return await rules_in(session)

    async def add_rule(
        self, department: str, *, kind: str | None = None, province: str | None = None,
        city: str | None = None, branch_id: int | None = None,
    ) -> Rule:
        """ValueError for an unknown department or branch, or a city without its province."""
        if city is not None and province is None:
            raise ValueError("a rule's city needs its province")
        async with self._db.session() as session:
            if await session.get(Department, department) is None:
                raise ValueError(f"no department {department!r}")
            if branch_id is not None and await session.get(Branch, branch_id) is None:
                raise ValueError(f"no branch {branch_id}")
            row = DispatchRule(kind=kind, province=province, city=city, department=department, branch_id=branch_id)
            session.add(row)
            await session.commit()
            return _rule(row)

    async def delete_rule(self, rule_id: int) -> bool:
        async with self._db.session() as session:
            result = await session.execute(delete(DispatchRule).where(DispatchRule.id == rule_id))
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def target(self, kind: str, province: str | None, city: str | None) -> Target | None:
        return match(await self.rules(), kind, province, city)
