"""The lab's demo branches, staff and dispatch rules: repairs in Guangdong go to the Guangdong
branch, Shenzhen's to its own service centre, Beijing's and Shanghai's to theirs; each
branch has an engineer (staff of the repair department), Guangdong a manager; the complaint,
installation and customer-service departments each have one person, who sees their
department's tickets of every branch."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select

from ctiserver.dispatch.store import DispatchRepository
from ctiserver.dispatch.tables import Branch
from ctiserver.storage.database import Database
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import User

#: name, province, city (None: the whole province), engineer's username and name
BRANCHES: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("广东分公司", "广东省", None, "engineer-gd", "陈工"),
    ("深圳服务中心", "广东省", "深圳市", "engineer-sz", "刘工"),
    ("北京分公司", "北京市", None, "engineer-bj", "赵工"),
    ("上海分公司", "上海市", None, "engineer-sh", "孙工"),
)
MANAGER = ("manager-gd", "广东分公司经理")
#: the other departments' staff, each seeing their department's tickets of every branch:
#: username, display name, department
DEPARTMENT_STAFF: tuple[tuple[str, str, str], ...] = (
    ("complaints", "周敏", "complaint"),
    ("installer", "吴强", "installation"),
    ("service-desk", "郑洁", "support"),
)


async def seed_demo_dispatch(db: Database, password: str, hasher: PasswordHasher | None = None) -> int:
    """Add what is missing; the number of rows added."""
    users = UserRepository(db, hasher)
    dispatch = DispatchRepository(db)
    added = 0
    for name, province, city, engineer, engineer_name in BRANCHES:
        async with db.session() as session:
            branch_id = await session.scalar(select(Branch.id).where(Branch.name == name))
        if branch_id is None:
            manager_id = None
            if city is None and province == "广东省":
                manager_id = (await users.add(MANAGER[0], password, "staff", MANAGER[1], department="repair")).id
                added += 1
            branch_id = (await dispatch.add_branch(name, province, city, manager_id)).id
            await dispatch.add_rule("repair", kind="repair", province=province, city=city, branch_id=branch_id)
            await dispatch.add_rule("installation", kind="installation", province=province, city=city,
                                    branch_id=branch_id)
            added += 3
        async with db.session() as session:
            known = await session.scalar(select(User.id).where(User.username == engineer))
        if known is None:
            await users.add(engineer, password, "staff", engineer_name, department="repair", branch_id=branch_id)
            added += 1
    for username, display_name, department in DEPARTMENT_STAFF:
        async with db.session() as session:
            known = await session.scalar(select(User.id).where(User.username == username))
        if known is None:
            await users.add(username, password, "staff", display_name, department=department)
            added += 1
    return added
