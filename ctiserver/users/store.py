"""Users of the web desktop, with argon2 password hashes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ctiserver.storage.database import Database
from ctiserver.users.tables import User
from ctiserver.vocabulary import USER_ROLES


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    display_name: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "display_name": self.display_name,
        }


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.role, user.display_name)


class UserRepository:
    """Argon2 work runs in a thread: a login must not stall the event loop for ~50 ms."""

    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self._db = db
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    async def add(
        self, username: str, password: str, role: str, display_name: str | None = None, *,
        department: str | None = None, branch_id: int | None = None,
    ) -> UserInfo:
        """``department`` and ``branch_id``: a staff member's (their tickets)."""
        if role not in USER_ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(USER_ROLES)}")
        if not username:
            raise ValueError("empty username")
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._db.session() as session:
            exists = await session.scalar(select(User.id).where(User.username == username))
            if exists is not None:
                raise ValueError(f"user {username!r} already exists")
            user = User(
                username=username,
                password_hash=password_hash,
                role=role,
                display_name=display_name,
                department=department,
                branch_id=branch_id,
            )
            session.add(user)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise ValueError(f"user {username!r} already exists") from exc
            return _info(user)

    async def authenticate(self, username: str, password: str) -> UserInfo | None:
        """The user if the password is right, else None, taking about as long either way."""
        async with self._db.session() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            await asyncio.to_thread(self._verify, await self._dummy(), password)
            return None
        if not await asyncio.to_thread(self._verify, user.password_hash, password):
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            await self._rehash(user.id, password)
        return _info(user)

    async def get(self, user_id: int) -> UserInfo | None:
        async with self._db.session() as session:
            user = await session.get(User, user_id)
            return None if user is None else _info(user)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, "not a password")
        return self._dummy_hash

    async def _rehash(self, user_id: int, password: str) -> None:
        new_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._db.session() as session:
            user = await session.get(User, user_id)
            if user is not None:
                user.password_hash = new_hash
                await session.commit()
