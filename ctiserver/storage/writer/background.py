"""The writer itself: the bounded queue, the task that writes it in batches, start and stop.

How it keeps records through the database's absence (the journal, retries, the dead
letter, stop) is told in the documentation of ``ctiserver.storage.writer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from ctiserver.settings import StorageSettings
from ctiserver.storage.writer.dead_letter import DeadLetter
from ctiserver.storage.writer.errors import describe, is_transient
from ctiserver.storage.writer.journal import Journal, fsync_and_close, fsync_periodically, json_line
from ctiserver.storage.writer.status import WriterStatus

#: the package's logger: the log lines name ``ctiserver.storage.writer`` as they always did
log = logging.getLogger("ctiserver.storage.writer")

T = TypeVar("T")


class BackgroundWriter(Generic[T]):
    """Stores what is ``put`` with ``save`` in batches; see the documentation of ``ctiserver.storage.writer``.

    ``save`` must be idempotent: a batch may be written again after a lost commit
    acknowledgment or a crash. ``encode`` and ``decode`` turn a record into a JSON
    object and back (the journal and the dead letter). ``name`` names the files.
    ``journal_first``: every record is appended to the journal before anything else (what a
    caller asked for: kept through a crash of the process, not only through the database's
    absence), then written from there.
    """

    def __init__(
        self,
        save: Callable[[list[T]], Awaitable[None]],
        what: str,
        *,
        name: str,
        encode: Callable[[T], Mapping[str, Any]],
        decode: Callable[[Mapping[str, Any]], T],
        settings: StorageSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        journal_first: bool = False,
    ) -> None:
        self._save_batch = save
        self._what = what
        self.name = name
        self._encode = encode
        self._decode = decode
        self._settings = settings or StorageSettings()
        self._sleep = sleep
        self._journal_first = journal_first
        directory = Path(self._settings.journal_dir)
        self._journal = Journal(directory / f"{name}.jsonl")
        self._dead = DeadLetter(directory / f"{name}.dead.jsonl", writer=name, what=what)
        self._memory: deque[T] = deque()
        #: the batch being written, split into parts once a record in it was refused
        self._parts: deque[list[T]] = deque()
        self._parts_from_journal = False
        #: committed offset of the journal, and its lines after that offset
        self._offset = 0
        self._journaled = 0
        self._written = 0
        self._reachable = True
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._wake = asyncio.Event()
        self._dirty = asyncio.Event()
        self._replayed = asyncio.Event()
        #: set whenever a part of a batch is committed, set aside or failed
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._stopped = False

    def twin(self, journal_dir: Path) -> BackgroundWriter[T]:
        """A writer of the same records from another journal directory (another node's)."""
        return BackgroundWriter(
            self._save_batch, f"{self._what} ({journal_dir.name}'s journal)", name=self.name,
            encode=self._encode, decode=self._decode, sleep=self._sleep,
            settings=dataclasses.replace(self._settings, journal_dir=str(journal_dir)),
        )

    @property
    def journal_path(self) -> Path:
        return self._journal.path

    @property
    def dead_letter_path(self) -> Path:
        return self._dead.path

    def status(self) -> WriterStatus:
        return WriterStatus(
            name=self.name,
            queued=len(self._memory) + sum(len(p) for p in self._parts if not self._parts_from_journal),
            journaled=self._journaled,
            dead_lettered=self._dead.entries,
            written=self._written,
            database_reachable=self._reachable,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
        )

    # -- the event path ---------------------------------------------------------------------

    def put(self, item: T) -> None:
        """Queue ``item``; never waits. Beyond the memory bound it goes to the journal."""
        if self._stopped:
            log.warning("%s: a record arrived after stop; journaled for the next start", self._what)
            self._to_journal(item)
            with contextlib.suppress(OSError):
                fd = self._journal.dup()
                if fd is not None:
                    fsync_and_close(fd)
            return
        if not self._journal_first and self._journaled == 0 and len(self._memory) < self._settings.queue_size:
            self._memory.append(item)
            self._wake.set()
            return
        self._to_journal(item)

    def _to_journal(self, item: T) -> None:
        try:
            line = json_line(self._encode(item))
        except Exception as exc:  # noqa: BLE001  (a record that cannot be encoded is its own fault)
            self._dead.put_now(repr(item), exc)
            return
        try:
            self._journal.append(line)
        except OSError as exc:
            # the disk is full or gone: keep it in memory rather than lose it (order may suffer)
            log.error("%s: cannot append to %s (%s); kept in memory", self._what,
                      self._journal.path, exc)
            self._memory.append(item)
        else:
            if self._journaled == 0 and not self._journal_first:
                log.warning("%s: more than %d waiting; journaling to %s", self._what,
                            self._settings.queue_size, self._journal.path)
            self._journaled += 1
            self._dirty.set()
        self._wake.set()

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the journal; write what it holds first (waiting up to ``replay_timeout``)."""
        self._offset, self._journaled = await asyncio.to_thread(self._journal.load)
        self._dead.entries = await asyncio.to_thread(self._dead.count)
        if self._dead.entries:
            log.warning("%s: %d records in the dead letter %s", self._what, self._dead.entries,
                        self._dead.path)
        if self._journaled and self._memory:
            early = list(self._memory)  # put before start: newer than the journal
            self._memory.clear()
            for item in early:
                self._to_journal(item)
        self._task = asyncio.create_task(self._run(), name=f"writer: {self._what}")
        self._flusher = asyncio.create_task(
            fsync_periodically(self._journal, self._dirty, self._settings.fsync_interval, self._what),
            name=f"journal fsync: {self._what}",
        )
        if self._journaled:
            log.info("%s: replaying %d records from %s", self._what, self._journaled,
                     self._journal.path)
            try:
                async with asyncio.timeout(self._settings.replay_timeout):
                    await self._replayed.wait()
            except TimeoutError:
                log.warning("%s: %d records still in the journal after %.0f s; replaying on"
                            " in the background", self._what, self._journaled,
                            self._settings.replay_timeout)

    async def stop(self) -> None:
        """Write what is in memory within ``stop_timeout``, else journal it; close the files."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.stop_timeout
        while (
            self._task is not None
            and not self._task.done()
            and self._reachable
            and self._unwritten_in_memory()
            and loop.time() < deadline
        ):
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - loop.time()):
                    await self._progress.wait()
        for task in (self._task, self._flusher):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._task, self._flusher) if t is not None), return_exceptions=True
        )
        self._task = self._flusher = None
        left = self._unwritten_in_memory()
        self._parts.clear()
        self._memory.clear()
        self._stopped = True
        if left:
            lines: list[bytes] = []
            for item in left:
                try:
                    lines.append(json_line(self._encode(item)))
                except Exception as exc:  # noqa: BLE001  (as in put)
                    self._dead.put_now(repr(item), exc)
            await asyncio.to_thread(self._journal.prepend, lines, self._offset)
            self._offset = 0
            self._journaled += len(lines)
        fd = self._journal.dup()
        if fd is not None:
            await asyncio.to_thread(fsync_and_close, fd)
        self._journal.close()
        if self._journaled:
            log.warning("%s: stopped with %d records in %s; they are written at the next start",
                        self._what, self._journaled, self._journal.path)

    def _unwritten_in_memory(self) -> list[T]:
        """In memory and not committed, oldest first (a batch from the journal is still there)."""
        parts = [] if self._parts_from_journal else [i for part in self._parts for i in part]
        return parts + list(self._memory)

    # -- the writing task -------------------------------------------------------------------

    async def _run(self) -> None:
        size = self._settings.batch_size
        while True:
            if self._memory:
                batch = [self._memory.popleft() for _ in range(min(size, len(self._memory)))]
                await self._write(batch, from_journal=False)
            elif self._journaled:
                await self._replay_some(size)
            else:
                self._replayed.set()
                self._wake.clear()
                await self._wake.wait()

    async def _replay_some(self, size: int) -> None:
        lines, end = await asyncio.to_thread(self._journal.read, self._offset, size)
        if not lines:  # the last line is half written (by another thread's view): soon
            await asyncio.sleep(0.01)
            return
        items: list[T] = []
        for raw in lines:
            try:
                items.append(self._decode(json.loads(raw)))
            except Exception as exc:  # noqa: BLE001  (a line that is not a record: set aside)
                await self._dead.put(raw.decode(errors="replace").rstrip("\n"), exc)
        await self._write(items, from_journal=True)
        await asyncio.to_thread(self._journal.commit, end, self._journal.generation)
        self._offset = end
        self._journaled -= len(lines)
        if self._journaled == 0:
            # nothing was appended while committing (no await since the check): all of it is in
            self._journal.discard()
            self._offset = 0
            log.info("%s: journal written to the database and removed", self._what)

    async def _write(self, batch: list[T], *, from_journal: bool) -> None:
        """Commit ``batch``: transient failures retried with back-off, refused records set aside."""
        if not batch:
            return
        self._parts = deque([batch])
        self._parts_from_journal = from_journal
        delay = self._settings.retry_min
        attempt = 0
        while self._parts:
            part = self._parts[0]
            try:
                async with asyncio.timeout(self._settings.write_timeout):
                    await self._save_batch(part)
            except Exception as exc:  # noqa: BLE001  (classified: retried, or the record set aside)
                if is_transient(exc):
                    attempt += 1
                    self._failed(exc, reachable=False)
                    self._progress.set()
                    log.warning("%s: could not store %d (attempt %d), retrying in %.1f s: %s",
                                self._what, len(part), attempt, delay, describe(exc, 300))
                    await self._sleep(delay)
                    delay = min(delay * 2, self._settings.retry_max)
                    continue
                self._failed(exc, reachable=True)
                self._progress.set()
                self._parts.popleft()
                if len(part) == 1:
                    await self._dead.put(self._encode_or_repr(part[0]), exc)
                else:
                    middle = len(part) // 2
                    self._parts.extendleft([part[middle:], part[:middle]])
                continue
            self._parts.popleft()
            self._written += len(part)
            if attempt:
                log.info("%s: the database answers again; stored %d after %d failed attempts",
                         self._what, len(part), attempt)
                attempt = 0
                delay = self._settings.retry_min
            self._reachable = True
            self._progress.set()
        self._parts_from_journal = False

    def _failed(self, exc: BaseException, *, reachable: bool) -> None:
        self._reachable = reachable
        self._last_error = describe(exc, 500)
        self._last_error_at = time.time()

    def _encode_or_repr(self, item: T) -> Any:
        try:
            return self._encode(item)
        except Exception:  # noqa: BLE001  (the dead letter takes it as text then)
            return repr(item)
