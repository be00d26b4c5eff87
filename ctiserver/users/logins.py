"""Failed logins counted in the database, so that every server throttles the same guesses
(``ctiserver.web.throttle`` decides what the counts mean)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ctiserver.storage.database import Database
from ctiserver.users.tables import LoginFailure


class LoginFailureRepository:
    """Counts by key: ``count`` failures, the last at ``last_at`` (epoch seconds)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def counts(self, keys: Collection[str]) -> dict[str, tuple[int, float]]:
        async with self._db.session() as session:
            rows = await session.scalars(select(LoginFailure).where(LoginFailure.key.in_(list(keys))))
            return {row.key: (row.count, row.last_at) for row in rows}

    async def add(self, keys: Collection[str], now: float, window: float) -> None:
        """One more failure for each key (a count older than ``window`` starts again at 1);
        counts older than ``window`` are forgotten."""
        for attempt in range(2):
            try:
                await self._add(keys, now, window)
                return
            except IntegrityError:  # another server inserted the same key meanwhile
                if attempt:
                    raise

    async def _add(self, keys: Collection[str], now: float, window: float) -> None:
        async with self._db.writing(), self._db.session() as session:
            found = await session.scalars(
                select(LoginFailure).where(LoginFailure.key.in_(list(keys))).with_for_update()
            )
            rows = {row.key: row for row in found}
            for key in keys:
                row = rows.get(key)
                if row is None:
                    session.add(LoginFailure(key=key, count=1, last_at=now))
                else:
                    row.count = 1 if now - row.last_at > window else row.count + 1
                    row.last_at = now
            await session.execute(delete(LoginFailure).where(LoginFailure.last_at < now - window))
            await session.commit()

    async def clear(self, key: str) -> None:
        async with self._db.writing(), self._db.session() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.key == key))
            await session.commit()
