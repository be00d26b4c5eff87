"""Wake-ups across nodes: PostgreSQL's ``LISTEN/NOTIFY``.

Several ``ctiserver serve`` processes (nodes) on one PostgreSQL learn of each other's
commits through the database, never a protocol of their own: triggers made by migration
``0020_nodes_notify`` send a ``NOTIFY`` in the transaction that writes the rows (ticket
events, flow versions), so PostgreSQL delivers it only if, and once, that transaction
commits. Each node keeps one dedicated connection (asyncpg's ``add_listener``) that
``LISTEN``s on the channels its features asked for, and calls their callbacks.

A notification only wakes: the rows stay the record, and a listener reads them as it would
after its own safety poll. So one lost costs at most that poll: when the connection drops,
it is made again (every ``retry`` seconds) and every callback is called once with ``None``
(something may have been missed meanwhile). A quiet connection is checked every
``keepalive`` seconds, so a dead one is noticed even when no notification comes.

On SQLite (one node) :class:`Notifications` does nothing: every commit is this process's,
and the features' in-process buses already wake them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ctiserver.storage.pglink import connect, is_postgres

log = logging.getLogger(__name__)

#: a channel's callback: the payload, or None after a reconnection (something may be missed)
Callback = Callable[[str | None], None]

#: the channels the migration's triggers notify on
TICKET_EVENTS = "ctiserver_ticket_events"
FLOW_VERSIONS = "ctiserver_flow_versions"


class Notifications:
    """This node's ``LISTEN`` connection (PostgreSQL), and who is called for what."""

    def __init__(self, url: str, *, retry: float = 1.0, keepalive: float = 5.0) -> None:
        self.url = url
        self.enabled = is_postgres(url)
        self.retry = retry
        self.keepalive = keepalive
        self._callbacks: dict[str, list[Callback]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        #: notifications received, by channel (metrics)
        self.received: dict[str, int] = {}
        #: connections made (the first included)
        self.connections = 0
        self.connected = asyncio.Event()

    def listen(self, channel: str, callback: Callback) -> None:
        """Call ``callback`` with each notification on ``channel`` (before :meth:`start`)."""
        self._callbacks.setdefault(channel, []).append(callback)

    async def start(self) -> None:
        if self.enabled and self._callbacks and self._task is None:
            self._task = asyncio.create_task(self._run(), name="notifications")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._close()

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            try:
                self._connection = await connect(self.url)
                self._connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                for channel in self._callbacks:
                    await self._connection.add_listener(channel, self._received)
            except Exception as exc:  # noqa: BLE001  (any failure: try again)
                log.warning("LISTEN connection to PostgreSQL failed (%s); again in %.1f s", exc, self.retry)
                await self._close()
                await asyncio.sleep(self.retry)
                continue
            self.connections += 1
            self.connected.set()
            log.info("listening on PostgreSQL for %s", ", ".join(sorted(self._callbacks)))
            self._call_all(None)  # what was committed while not listening
            await self._watch(lost)
            self.connected.clear()
            await self._close()
            log.warning("LISTEN connection to PostgreSQL lost; again in %.1f s", self.retry)
            await asyncio.sleep(self.retry)

    async def _watch(self, lost: asyncio.Event) -> None:
        """Until the connection is lost (closed, or a keep-alive query fails)."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.keepalive):
                    await lost.wait()
                    return
            try:
                async with asyncio.timeout(self.keepalive):
                    await self._connection.fetchval("SELECT 1")
            except Exception as exc:  # noqa: BLE001  (any failure means the link is gone)
                log.warning("LISTEN connection check failed: %s", exc)
                return

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)
            if not connection.is_closed():
                connection.terminate()

    def _received(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self.received[channel] = self.received.get(channel, 0) + 1
        self._call(channel, payload)

    def _call_all(self, payload: str | None) -> None:
        for channel in self._callbacks:
            self._call(channel, payload)

    def _call(self, channel: str, payload: str | None) -> None:
        for callback in self._callbacks.get(channel, []):
            try:
                callback(payload)
            except Exception:
                log.exception("notification callback for %s failed", channel)
