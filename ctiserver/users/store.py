"""Users of the web desktop, with argon2 password hashes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database
from ctiserver.users.sessions import sessions_ended
from ctiserver.users.tables import User, UserSession
from ctiserver.vocabulary import USER_ROLES


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    display_name: str | None
    #: staff: their department's code and branch (none: every branch)
    department: str | None = None
    branch_id: int | None = None
    #: an admin disabled the account: no login, no session
    disabled: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "display_name": self.display_name,
        }


    def to_admin_dict(self) -> dict[str, object]:
        """What the users page shows (``/api/users``)."""
        return {**self.to_dict(), "department": self.department, "branch_id": self.branch_id,
                "disabled": self.disabled}


def _info(user: User) -> UserInfo:
    return UserInfo(
        user.id, user.username, user.role, user.display_name, user.department, user.branch_id,
        user.disabled_at is not None,
    )


class _Unset:
    """A change not asked for (None is a value: no department, no branch)."""


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Changed:
    user: UserInfo
    #: the fields changed, by name (the password as "password")
    fields: tuple[str, ...]
    #: sessions ended because the password or role changed or the account was disabled
    sessions_ended: int


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
        if not username or len(username) > 64:
            raise ValueError("a username has 1 to 64 characters")
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
        if user is None or user.disabled_at is not None:
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

    async def active(self, user_id: int) -> UserInfo | None:
        """The user, if the account exists and is not disabled (a session's user)."""
        user = await self.get(user_id)
        return None if user is None or user.disabled else user

    async def find(self, username: str) -> UserInfo | None:
        async with self._db.session() as session:
            user = await session.scalar(select(User).where(User.username == username))
            return None if user is None else _info(user)

    async def list(self) -> list[UserInfo]:
        async with self._db.session() as session:
            return [_info(user) for user in await session.scalars(select(User).order_by(User.username))]

    async def change(
        self, user_id: int, *, role: str = UNSET, display_name: str | None = UNSET,
        department: str | None = UNSET, branch_id: int | None = UNSET, password: str | None = None,
        disabled: bool | None = None,
    ) -> Changed | None:
        """Change what is given; None for no such user. A new password or role, or the account
        disabled, ends every session of the user (they log in again with what they now are)."""
        if role is not UNSET and role not in USER_ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(USER_ROLES)}")
        new_hash = None if password is None else await asyncio.to_thread(self._hasher.hash, password)
        async with self._db.writing(), self._db.session() as session:
            user = await session.get(User, user_id)
            if user is None:
                return None
            asked = {"role": role, "display_name": display_name, "department": department, "branch_id": branch_id}
            fields = [name for name, value in asked.items() if value is not UNSET and getattr(user, name) != value]
            for name in fields:
                setattr(user, name, asked[name])
            if new_hash is not None:
                user.password_hash = new_hash
                fields.append("password")
            if disabled is not None and disabled != (user.disabled_at is not None):
                user.disabled_at = utcnow() if disabled else None
                fields.append("disabled")
            ended = 0
            if {"password", "role"} & set(fields) or (disabled and "disabled" in fields):
                result = await session.execute(delete(UserSession).where(UserSession.user_id == user_id))
                ended = int(getattr(result, "rowcount", 0) or 0)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise ValueError("no such branch") from exc
            if ended:
                sessions_ended(self._db).notify(user_id, "the user changed")
            return Changed(_info(user), tuple(fields), ended)

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
