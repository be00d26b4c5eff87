"""Servers' leases on outbound dialling: who is alive to follow the attempts it claimed.

A dialler renews its server's lease (``expires_at``) every third of its length. A server
whose lease has run out (killed, its machine gone, cut off from the database) is taken
for dead: any live server resolves the attempts it left in flight, from Asterisk
(``ctiserver.telephony.outbound``). A row in the shared database rather than a session
advisory lock, because it works on SQLite too and its timeout is a setting; a server
only stalled past its lease finds its attempts already ended when it resumes (an
attempt's outcome is written once). The servers' clocks must agree to well within a
lease (NTP).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, from_epoch
from ctiserver.storage.database import Database
from ctiserver.storage.upsert import dialect_insert


class DiallerLease(Base):
    __tablename__ = "dialler_leases"

    #: the server's name on the attempts it claims (callbacks.server_id, visits.server_id)
    server: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DiallerLeases:
    def __init__(self, db: Database, server: str, seconds: float) -> None:
        self._db = db
        self.server = server
        #: how long a lease lasts unrenewed
        self.seconds = seconds

    async def renew(self, now: float) -> None:
        expires = from_epoch(now + self.seconds)
        insert = dialect_insert(self._db, DiallerLease).values(server=self.server, expires_at=expires)
        async with self._db.session() as session:
            await session.execute(insert.on_conflict_do_update(
                index_elements=[DiallerLease.server], set_={"expires_at": insert.excluded.expires_at}
            ))
            await session.commit()

    async def live(self, now: float) -> set[str]:
        """Servers whose lease runs at ``now`` (this one always counts as live)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(DiallerLease.server).where(DiallerLease.expires_at > from_epoch(now))
            )
            return {str(server) for server in rows} | {self.server}
