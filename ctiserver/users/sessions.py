"""Sessions in the database: every server sees the same ones, and one revoked is gone for all.

The browser's cookie holds a random token; the row is keyed by its HMAC-SHA256 under
``web.session_secret``, so a copy of the table logs no one in (and a new secret ends every
session). A session ends at logout, past ``idle`` seconds without a request
or ``lifetime`` seconds after login, and with every other session of its user when the
user's password or role changes or the account is disabled (``UserRepository``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update

from ctiserver.listeners import Listeners
from ctiserver.storage.base import from_epoch
from ctiserver.storage.database import Database
from ctiserver.users.tables import User, UserSession

#: ``seen_at`` is written at most this often (seconds): not one write per request
TOUCH_EVERY = 60.0

log = logging.getLogger(__name__)
_ENDED: weakref.WeakKeyDictionary[Database, Listeners[int | None]] = weakref.WeakKeyDictionary()


def sessions_ended(db: Database) -> Listeners[int | None]:
    """Told, in this process, when sessions on ``db`` end (the user's id; None: not known):
    the web layer then closes the websockets of the sessions that ended, at once. One per
    Database object; another process's ends are seen by the web layer's periodic check."""
    found = _ENDED.get(db)
    if found is None:
        found = _ENDED[db] = Listeners(log, "sessions ended")
    return found


def session_key(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OpenSession:
    user_id: int
    data: dict[str, Any]
    #: epoch seconds
    created: float


@dataclass(frozen=True)
class SessionInfo:
    """A session as ``ctiserver user sessions`` lists it; ``id`` is its key's first 12 digits."""

    id: str
    user_id: int
    username: str
    created_at: dt.datetime
    seen_at: dt.datetime
    client: str | None
    user_agent: str | None


class SessionRepository:
    def __init__(
        self, db: Database, *, secret: str, idle: float, lifetime: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._secret = secret
        self.idle = idle
        self.lifetime = lifetime
        #: epoch seconds now (wall-clock time: a server's simulated clock does not age sessions)
        self.clock = clock

    def _key(self, token: str) -> str:
        return session_key(token, self._secret)

    def _expired(self, now: float) -> Any:
        return or_(
            UserSession.seen_at < from_epoch(now - self.idle),
            UserSession.created_at < from_epoch(now - self.lifetime),
        )

    async def open(
        self, user_id: int, data: dict[str, Any], *, client: str | None = None, user_agent: str | None = None
    ) -> str:
        """A new session of ``user_id``; the token for the cookie."""
        token = secrets.token_urlsafe(32)
        now = from_epoch(self.clock())
        async with self._db.writing(), self._db.session() as session:
            session.add(UserSession(
                key=self._key(token), user_id=user_id, data=data, created_at=now, seen_at=now,
                client=(client or "")[:64] or None, user_agent=(user_agent or "")[:256] or None,
            ))
            await session.commit()
        return token

    async def find(self, token: str) -> OpenSession | None:
        """The session of ``token`` if it is still open (its last use noted); None otherwise."""
        if not token or len(token) > 128:
            return None
        key, now = self._key(token), self.clock()
        async with self._db.session() as session:
            row = await session.get(UserSession, key)
        if row is None:
            return None
        seen, created = row.seen_at.timestamp(), row.created_at.timestamp()
        if now - seen > self.idle or now - created > self.lifetime:
            await self.revoke(token)
            return None
        if now - seen >= TOUCH_EVERY:
            async with self._db.writing(), self._db.session() as session:
                await session.execute(
                    update(UserSession).where(UserSession.key == key).values(seen_at=from_epoch(now))
                )
                await session.commit()
        return OpenSession(row.user_id, dict(row.data or {}), created)

    async def save(self, token: str, data: dict[str, Any]) -> None:
        async with self._db.writing(), self._db.session() as session:
            await session.execute(update(UserSession).where(UserSession.key == self._key(token)).values(data=data))
            await session.commit()

    async def revoke(self, token: str) -> bool:
        return await self._delete(UserSession.key == self._key(token)) > 0

    async def revoke_user(self, user_id: int) -> int:
        """End every session of the user; how many there were."""
        return await self._delete(UserSession.user_id == user_id)

    async def revoke_id(self, short_id: str) -> int:
        """End the sessions whose key starts with ``short_id`` (as listed; at least 8 digits)."""
        if len(short_id) < 8 or any(c not in "0123456789abcdef" for c in short_id):
            raise ValueError("a session id is at least 8 hexadecimal digits, as listed")
        return await self._delete(UserSession.key.startswith(short_id, autoescape=True))

    async def still_open(self, tokens: Collection[str]) -> set[str]:
        """Those of ``tokens`` whose session has not ended (expired ones count as open until
        they are purged or used: the request that finds one expired ends it)."""
        keys = {self._key(token): token for token in tokens if token and len(token) <= 128}
        if not keys:
            return set()
        async with self._db.session() as session:
            found = await session.scalars(select(UserSession.key).where(UserSession.key.in_(list(keys))))
            return {keys[key] for key in found}

    def on_ended(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever sessions end in this process; returns the unsubscribe."""
        return sessions_ended(self._db).subscribe(lambda _user_id: listener())

    async def purge(self) -> int:
        """Delete the expired sessions."""
        return await self._delete(self._expired(self.clock()))

    async def _delete(self, where: Any) -> int:
        async with self._db.writing(), self._db.session() as session:
            result = await session.execute(delete(UserSession).where(where))
            await session.commit()
        ended = int(getattr(result, "rowcount", 0) or 0)
        if ended:
            sessions_ended(self._db).notify(None, "sessions deleted")
        return ended

    async def list(self, username: str | None = None) -> list[SessionInfo]:
        """The open sessions (of ``username``), newest first."""
        now = self.clock()
        query = (
            select(UserSession, User.username).join(User, User.id == UserSession.user_id)
            .where(~self._expired(now)).order_by(UserSession.created_at.desc())
        )
        if username is not None:
            query = query.where(User.username == username)
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        return [
            SessionInfo(row.key[:12], row.user_id, name, row.created_at, row.seen_at, row.client, row.user_agent)
            for row, name in rows
        ]
