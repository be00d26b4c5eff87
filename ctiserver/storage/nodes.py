"""The nodes on one PostgreSQL: who is up (a heartbeat row each), and one session secret.

Each node keeps a row in ``cluster_nodes`` (migration ``0022_nodes_registry``): its name,
where its web and FastAGI listen, when it started, its last heartbeat (every
``nodes.heartbeat`` seconds) and a digest of its ``web.session_secret``. A node is up while
its heartbeat is younger than three beats: the supervisor's view and ``GET /api/nodes``
show it so.

One secret for all: sessions are HMACs under ``web.session_secret``, so a node with another
secret would turn away every user another node logged in. At start a node compares its
digest with those of the nodes that are up; when one differs it refuses to start
(:class:`SecretMismatch`). Nodes all down (a planned change of secret, restarting every
node) let a new secret in. The digest is an HMAC-SHA256 keyed by the secret of a fixed
text: it shows whether two secrets are equal and nothing of either.

A row, not an advisory lock: the other nodes read it, and it says when a dead node was last
seen. The nodes' clocks must agree to well within a beat (NTP). On SQLite (one node) the
registry keeps no row and refuses nothing: there is no other node.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, from_epoch
from ctiserver.storage.database import Database
from ctiserver.storage.pglink import is_postgres
from ctiserver.storage.upsert import dialect_insert

log = logging.getLogger(__name__)

#: a node whose last heartbeat is older than this many beats is down
BEATS_TO_DOWN = 3


class ClusterNode(Base):
    __tablename__ = "cluster_nodes"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    web: Mapped[str] = mapped_column(String(256), default="")
    agi: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    secret_digest: Mapped[str] = mapped_column(String(64))


class SecretMismatch(RuntimeError):
    """This node's session secret is not the one of the nodes that are up."""


def secret_digest(secret: str) -> str:
    """Equal for equal secrets, and tells nothing of the secret."""
    return hmac.new(secret.encode(), b"ctiserver session secret check", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NodeInfo:
    name: str
    web: str
    agi: str
    started_at: float
    seen_at: float
    up: bool

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "web": self.web, "agi": self.agi, "up": self.up,
                "started_at": from_epoch(self.started_at).isoformat(),
                "seen_at": from_epoch(self.seen_at).isoformat()}


class NodeRegistry:
    """This node's row, its heartbeat, and every node's."""

    def __init__(self, db: Database, *, name: str, secret: str, web: str = "", agi: str = "",
                 heartbeat: float = 2.0) -> None:
        self._db = db
        self.name = name
        self.web = web
        self.agi = agi
        self.heartbeat = heartbeat
        self.enabled = is_postgres(db.url)
        self._digest = secret_digest(secret)
        self._started = 0.0

    def down_after(self) -> float:
        return self.heartbeat * BEATS_TO_DOWN

    async def join(self, now: float) -> None:
        """Check the secret against the nodes that are up, then write this node's row;
        raises :class:`SecretMismatch` (the node must not start)."""
        if not self.enabled:
            return
        self._started = now
        async with self._db.session() as session:
            rows = await session.scalars(select(ClusterNode).where(
                ClusterNode.seen_at > from_epoch(now - self.down_after()), ClusterNode.name != self.name,
            ))
            differing = sorted(row.name for row in rows if row.secret_digest != self._digest)
        if differing:
            raise SecretMismatch(
                f"web.session_secret differs from that of the nodes up ({', '.join(differing)}): "
                "give every node the same secret (docs/deploy.md section 9)"
            )
        await self.beat(now)

    async def beat(self, now: float) -> None:
        insert = dialect_insert(self._db, ClusterNode).values(
            name=self.name, web=self.web, agi=self.agi, started_at=from_epoch(self._started or now),
            seen_at=from_epoch(now), secret_digest=self._digest,
        )
        async with self._db.session() as session:
            await session.execute(insert.on_conflict_do_update(
                index_elements=[ClusterNode.name],
                set_={name: insert.excluded[name] for name in ("web", "agi", "started_at", "seen_at", "secret_digest")},
            ))
            await session.commit()

    async def run(self, clock: Callable[[], float]) -> None:
        """Beat every ``heartbeat`` seconds (a failed beat is logged and tried again)."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.beat(clock())
            except Exception as exc:  # noqa: BLE001  (the database away: beat again later)
                log.warning("node %s: heartbeat not written (%s)", self.name, exc)

    async def leave(self) -> None:
        """A node stopping on purpose is down at once (its row stays, marked long unseen)."""
        if not self.enabled:
            return
        async with self._db.session() as session:
            row = await session.get(ClusterNode, self.name)
            if row is not None:
                row.seen_at = from_epoch(0)
                await session.commit()

    async def nodes(self, now: float) -> list[NodeInfo]:
        """Every node known, up or down; on SQLite this node alone, up."""
        if not self.enabled:
            return [NodeInfo(self.name, self.web, self.agi, self._started or now, now, True)]
        async with self._db.session() as session:
            rows = list(await session.scalars(select(ClusterNode).order_by(ClusterNode.name)))
        down = now - self.down_after()
        return [
            NodeInfo(row.name, row.web, row.agi, row.started_at.timestamp(), row.seen_at.timestamp(),
                     row.seen_at.timestamp() > down)
            for row in rows
        ]
