"""A dead node's journals, written by a live one (``storage.shared_journal_dir``).

What a node could not write because the database was busy waits in its journal (an IVR
ticket, a callback request: ``journal_first`` writers). A node that never comes back would
keep it there for good, so with several nodes the journals live on storage every node sees
(NFS): node N's in ``<shared_journal_dir>/<N>/``. A live node writes a dead node's journals
when all three of these hold, checked in this order:

1. **Its heartbeat ran out**: the node's row in ``cluster_nodes`` is older than three beats
   (``ctiserver.storage.nodes``), the nodes' own view of who is down.
2. **The advisory lock** ``journal-<N>`` (``hold_once``, PostgreSQL): one rescuer at a time.
3. **The owner's file lock**: every node holds ``flock`` on ``<its directory>/owner.lock``
   for as long as its process lives. The kernel (or, on NFSv4, the server once the client's
   lease expired) lets go of it when the process dies, ``kill -9`` included; a rescuer only
   takes it without waiting. A node that is alive, even cut off from PostgreSQL (its heartbeat
   late), still holds it: its journal is never written by another behind its back. A node
   that starts again waits for this lock (a rescue in progress ends first) before it opens
   its journals, so a journal is never replayed by two at once.

Then each journal is replayed by a writer of the same records (``BackgroundWriter.twin``):
its save is idempotent (an IVR ticket is not opened twice for one call, a callback request
is unique by call), so a record written just before the owner died is not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ctiserver.storage.leases import LeaseBusy, hold_once
from ctiserver.storage.nodes import NodeRegistry
from ctiserver.storage.writer.background import BackgroundWriter

log = logging.getLogger("ctiserver.storage.writer")

OWNER_LOCK = "owner.lock"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def journal_home(shared_dir: str, node: str) -> Path:
    """The directory of ``node``'s journals under the shared directory (a safe name)."""
    safe = _UNSAFE.sub("_", node).lstrip(".") or "_"
    return Path(shared_dir) / safe


def _try_flock(path: Path, *, wait: bool) -> int | None:
    """A descriptor holding an exclusive ``flock`` on ``path``; None if another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


class OwnerLock:
    """This node's hold on its own journal directory, for as long as its process lives."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._fd: int | None = None

    async def take(self) -> None:
        """Wait for a rescuer still writing this directory's journals, then hold it."""
        if self._fd is None:
            self._fd = await asyncio.to_thread(_try_flock, self.home / OWNER_LOCK, wait=True)
            log.info("journals in %s held by this node", self.home)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor lets go of the lock
            self._fd = None


class JournalRescue:
    """Looks every ``interval`` seconds for nodes down with journals left, and writes them."""

    def __init__(
        self, shared_dir: str, own: str, url: str, registry: NodeRegistry,
        writers: Callable[[], Sequence[BackgroundWriter[Any]]], *, interval: float,
    ) -> None:
        self.shared_dir = shared_dir
        self.own = own
        self.url = url
        self.registry = registry
        self.writers = writers
        self.interval = interval
        #: records of other nodes' journals written to the database, for the logs and tests
        self.rescued = 0

    async def run(self) -> None:
        while True:
            try:
                await self.look()
            except Exception as exc:  # noqa: BLE001  (the database or the share away: look again)
                log.warning("journal rescue: %s", exc)
            await asyncio.sleep(self.interval)

    async def look(self) -> int:
        """Write the journals of every node that is down; the number of records written."""
        written = 0
        for node in await self.registry.nodes(time.time()):
            home = journal_home(self.shared_dir, node.name)
            if node.up or node.name == self.own or not _has_journal(home):
                continue
            try:
                async with hold_once(self.url, f"journal-{node.name}"):
                    written += await self._rescue(node.name, home)
            except LeaseBusy:
                continue  # another node is at it
        return written

    async def _rescue(self, name: str, home: Path) -> int:
        fd = await asyncio.to_thread(_try_flock, home / OWNER_LOCK, wait=False)
        if fd is None:
            log.info("node %s is late but its process still holds %s: its journals stay", name, home)
            return 0
        try:
            again = {node.name: node for node in await self.registry.nodes(time.time())}
            if name in again and again[name].up:  # it came back meanwhile
                return 0
            written = 0
            for writer in self.writers():
                if not (home / writer.journal_path.name).exists():
                    continue
                twin = writer.twin(home)
                await twin.start()  # replays the journal, waiting up to storage.replay_timeout
                await twin.stop()
                status = twin.status()
                written += status.written
                log.warning("node %s is down: %d records of its journal %s written by node %s%s",
                            name, status.written, writer.name, self.own,
                            f" ({status.journaled} still waiting)" if status.journaled else "")
            self.rescued += written
            return written
        finally:
            os.close(fd)


def _has_journal(home: Path) -> bool:
    with contextlib.suppress(OSError):
        return any(path.stat().st_size > 0 for path in home.glob("*.jsonl") if not path.name.endswith(".dead.jsonl"))
    return False
