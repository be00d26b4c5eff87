"""Staff users with a department and a branch, and branches, for the work view's tests and benchmark."""

from __future__ import annotations

from argon2 import PasswordHasher

from ctiserver.dispatch.store import DispatchRepository
from ctiserver.storage.database import Database
from ctiserver.users.store import UserRepository

#: cheap hashing: tests log in many times
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def add_staff(
    db: Database, username: str, password: str, department: str | None, branch_id: int | None,
    display_name: str | None = None,
) -> int:
    user = await UserRepository(db, FAST_HASHER).add(
        username, password, "staff", display_name, department=department, branch_id=branch_id
    )
    return user.id


async def add_branch(db: Database, name: str, province: str, city: str | None = None) -> int:
    return (await DispatchRepository(db).add_branch(name, province, city)).id
