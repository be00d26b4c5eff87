"""Duties that run once among the nodes, taken over when their node dies: leases held as
PostgreSQL advisory locks.

Each node keeps one dedicated connection for its leases and holds a lease as a
session-level ``pg_try_advisory_lock``: it is released when the node lets go, and by
PostgreSQL itself when the connection ends (the node died, was killed, lost the network:
PostgreSQL notices a dead client by its TCP keep-alives). A node that wants a lease another
holds tries again every ``interval`` seconds (``nodes.lease_interval``), so a dead node's
duty is taken over within that interval after PostgreSQL ended its session. A node that
loses its connection loses every lease at once: its duties are cancelled before it
connects again, so two nodes never run one duty together (while the connection stays up,
the lock is held; when it is down, the duty stops within one check: every ``interval``).

On SQLite (one node) every lease is always held.

A duty is an async function run while the lease is held (``Leases.run``): cancelled when
the lease is lost, started again when it is held again. Its work must be safe to redo from
where the database says it stands (it is: each duty keeps its state in rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from ctiserver.storage.pglink import connect, is_postgres

log = logging.getLogger(__name__)

Duty = Callable[[], Coroutine[Any, Any, None]]


def lease_key(name: str) -> int:
    """The advisory lock's 64-bit key of the lease ``name`` (the same on every node)."""
    digest = hashlib.sha256(f"ctiserver lease {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaseBusy(RuntimeError):
    """Another node holds the lease (``hold_once``)."""


class Leases:
    """This node's leases: which it wants, which it holds."""

    def __init__(self, url: str, *, node: str = "", interval: float = 3.0) -> None:
        self.url = url
        self.node = node
        self.enabled = is_postgres(url)
        self.interval = interval
        self._wanted: dict[str, asyncio.Event] = {}
        self._held: set[str] = set()
        self._lost: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._query = asyncio.Lock()
        self._checked = asyncio.Event()
        #: leases taken (the first time and after a loss), for the metrics
        self.taken = 0
        #: whether the lease connection is up (always True on SQLite)
        self.connected = not self.enabled

    def held(self) -> list[str]:
        return sorted(self._held)

    def wanted(self) -> list[str]:
        return sorted(self._wanted)

    def is_held(self, name: str) -> bool:
        return name in self._held

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._keep(), name="leases")

    async def stop(self) -> None:
        """Let go of every lease (closing the connection releases the locks)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop("the node stops")

    async def run(self, name: str, duty: Duty) -> None:
        """Run ``duty`` whenever this node holds the lease ``name``, until cancelled; what
        ``duty`` raises goes on (the supervision restarts this, the lease still held)."""
        if not self.enabled:
            self._held.add(name)
            await duty()
            return
        got = self._wanted.setdefault(name, asyncio.Event())
        self._checked.set()  # try it at once
        while True:
            await got.wait()
            lost = self._lost.setdefault(name, asyncio.Event())
            work = asyncio.create_task(duty(), name=f"{name} (lease)")
            watch = asyncio.create_task(lost.wait())
            try:
                await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                watch.cancel()
                if not work.done():
                    work.cancel()
                await asyncio.gather(work, watch, return_exceptions=True)
            if work.done() and not work.cancelled() and not lost.is_set():
                work.result()  # raises what the duty raised
                return

    async def _keep(self) -> None:
        """Connect, take the wanted leases that are free, check the connection; every
        ``interval`` (and at once when a duty starts waiting)."""
        while True:
            try:
                if self._connection is None:
                    self._connection = await connect(self.url, timeout=self.interval + 2.0)
                    self._connection.add_termination_listener(self._terminated)
                    self.connected = True
                    log.info("lease connection to PostgreSQL made (node %s)", self.node)
                await self._try_all()
            except Exception as exc:  # noqa: BLE001  (any failure: the leases are gone)
                log.warning("lease connection to PostgreSQL failed: %s", exc)
                await self._drop(f"the connection failed ({exc})")
            self._checked.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._checked.wait()

    async def _try_all(self) -> None:
        async with self._query, asyncio.timeout(self.interval + 2.0):
            if self._held:
                await self._connection.fetchval("SELECT 1")  # a lost connection is a lost lease
            for name, got in self._wanted.items():
                if name in self._held:
                    continue
                if await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", lease_key(name)):
                    self._held.add(name)
                    self.taken += 1
                    self._lost[name] = asyncio.Event()
                    got.set()
                    log.info("lease %s held by node %s", name, self.node)

    async def _drop(self, why: str) -> None:
        connection = self._connection
        self._lose(why)
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)
            if not connection.is_closed():
                connection.terminate()

    def _lose(self, why: str) -> None:
        """Every lease lost, at once: the duties are cancelled (``run``)."""
        for name in sorted(self._held):
            log.warning("lease %s lost by node %s: %s", name, self.node, why)
            self._wanted[name].clear()
            self._lost[name].set()
        self._held.clear()
        self._connection = None
        self.connected = False

    def _terminated(self, connection: Any) -> None:
        """asyncpg saw the connection end (PostgreSQL ended the session): the locks are gone
        now, so the duties stop now, not at the next check."""
        if connection is self._connection:
            self._lose("PostgreSQL ended the lease connection")

    async def crash(self) -> None:
        """As ``kill -9`` would: the connection's socket closed without a word (PostgreSQL
        then ends the session and frees its locks), nothing tried again (tests, the lab)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        connection = self._connection
        self._lose("the node crashed")
        if connection is not None:
            connection.terminate()


@contextlib.asynccontextmanager
async def hold_once(url: str, name: str) -> AsyncIterator[None]:
    """The lease ``name`` for a one-off duty (a command: reports rebuild, recordings purge);
    raises :class:`LeaseBusy` at once when another node holds it. On SQLite: always."""
    if not is_postgres(url):
        yield
        return
    connection = await connect(url)
    try:
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", lease_key(name)):
            raise LeaseBusy(f"another node is running {name}: try again when it is done")
        yield
    finally:
        await connection.close()
