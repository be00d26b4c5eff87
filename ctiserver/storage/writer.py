"""Writes to the database off the event path that survive the database being away.

Event handlers run synchronously and must never wait for the database; they
``put`` what is to be stored here, and a task writes it in batches.

* **Bounded memory.** At most ``storage.queue_size`` records wait in memory. Beyond
  that, and for as long as anything is in the journal (so that order is kept),
  records are appended to a journal on local disk (``NAME.jsonl`` under
  ``storage.journal_dir``, one JSON object a line): a small synchronous write of
  one line, flushed to the operating system; fsync is done in batches in a thread,
  every ``storage.fsync_interval`` seconds.
* **Replay.** The journal is written to the database after what is in memory
  (it is newer), and at start before anything else. A line leaves the journal only
  once it is committed: the committed byte offset is kept beside it
  (``NAME.offset``), the file is deleted when all of it is committed. A crash
  between a commit and the offset's update writes those records again, so the
  ``save`` given to the writer must be idempotent (an upsert by a unique key).
* **Retries.** A batch that fails for a transient reason (the database is down,
  the connection was lost, a timeout, a lock) is retried with exponential
  back-off (``storage.retry_min`` doubled up to ``storage.retry_max``) while new
  records keep queueing (and spilling to the journal).
* **Poison records.** A batch that fails for a permanent reason (an integrity or
  data error, a value the database or the encoder refuses) is split in halves
  until the records at fault are alone; each goes to the dead letter
  (``NAME.dead.jsonl``: the time, the error, the record) with an error logged,
  and the others are written.
* **Stop.** What is still in memory is written if the database answers within
  ``storage.stop_timeout``; what is left then is put at the head of the journal.
* **Status.** :meth:`BackgroundWriter.status` says what is queued, journaled and
  dead-lettered, the last error, and whether the database answered last time
  (``/healthz`` reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import exc as sa_exc

from ctiserver.settings import StorageSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLSTATE classes of errors that pass: connection exception, insufficient resources,
#: operator intervention (shutdown, starting up), system error, transaction rollback
#: (serialisation failure, deadlock), and syntax or access rule (a missing table or
#: grant is fixed by an operator, not by throwing the records away)
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58", "40", "42"})
#: SQLSTATE classes of errors that are the record's own: data exception, integrity
#: constraint violation
PERMANENT_SQLSTATE_CLASSES = frozenset({"22", "23"})

_PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    ValueError,  # asyncpg's client-side DataError is one; so are bad timestamps
    TypeError,
    KeyError,
    OverflowError,
)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # SQLite's "database is locked", a server gone away
    sa_exc.InterfaceError,  # asyncpg: the connection is closed
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # the pool's
    sqlite3.OperationalError,
    OSError,  # connection refused or reset, and TimeoutError
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (``orig``), and their causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend(
            [orig if isinstance(orig, BaseException) else None, current.__cause__,
             current.__context__]
        )


def is_transient(exc: BaseException) -> bool:
    """True if trying the same write again later may work; False if it is the record's fault.

    The SQLSTATE of a database error decides when there is one; then the kind of
    error anywhere in the chain, the record's own (integrity, data, value) first.
    An error of no known kind is the record's: retrying it forever would block
    every later write, and the dead letter keeps it.
    """
    chain = list(_chain(exc))
    for error in chain:
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            if state[:2] in PERMANENT_SQLSTATE_CLASSES:
                return False
            if state[:2] in TRANSIENT_SQLSTATE_CLASSES:
                return True
    if any(isinstance(error, _PERMANENT_TYPES) for error in chain):
        return False
    for error in chain:
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _TRANSIENT_TYPES):
            return True
    return False


def _describe(exc: BaseException, limit: int = 2000) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_line(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """An append-only file of JSON lines and the byte offset up to which it is committed.

    ``append`` runs on the event loop (one short write); the rest runs in a thread
    (``asyncio.to_thread``). A thread outlives the task that awaited it when that task
    is cancelled (at stop), so a commit and a rewrite take a lock, and a commit
    started before a rewrite is dropped (its offset meant the old file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset_path = path.with_suffix(".offset")
        self._file: Any = None  # BufferedWriter, opened on the first append
        self._lock = threading.Lock()
        #: bumped by every rewrite (prepend)
        self.generation = 0

    def load(self) -> tuple[int, int]:
        """(committed offset, complete lines after it); a torn last line is cut off."""
        if not self.path.exists():
            with contextlib.suppress(FileNotFoundError):
                self.offset_path.unlink()
            return 0, 0
        offset = 0
        with contextlib.suppress(FileNotFoundError, ValueError):
            offset = int(self.offset_path.read_text().strip() or 0)
        size = self.path.stat().st_size
        if not 0 <= offset <= size:
            log.warning("%s: committed offset %d outside the file; replaying it all",
                        self.offset_path, offset)
            offset = 0
        lines = 0
        end = offset
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                lines += 1
                end += len(raw)
        if end < size:
            log.warning("%s: cutting a torn last line (%d bytes) written before a crash",
                        self.path, size - end)
            with open(self.path, "rb+") as fh:
                fh.truncate(end)
        return offset, lines

    def append(self, line: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 (kept open between appends)
        self._file.write(line)
        self._file.flush()

    def dup(self) -> int | None:
        """A descriptor of the open file for an fsync in a thread (closing ours is then safe)."""
        return None if self._file is None else os.dup(self._file.fileno())

    def read(self, offset: int, max_lines: int) -> tuple[list[bytes], int]:
        """Up to ``max_lines`` complete lines from ``offset``, and the offset after them."""
        lines: list[bytes] = []
        end = offset
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            for raw in fh:
                if not raw.endswith(b"\n"):  # being written this very moment
                    break
                lines.append(raw)
                end += len(raw)
                if len(lines) >= max_lines:
                    break
        return lines, end

    def commit(self, offset: int, generation: int) -> None:
        """Everything before ``offset`` is in the database (unless the file was rewritten since)."""
        with self._lock:
            if generation != self.generation:
                return
            tmp = self.offset_path.with_suffix(".offset.tmp")
            tmp.write_text(f"{offset}\n")
            os.replace(tmp, self.offset_path)

    def discard(self) -> None:
        """All of it is committed: the file goes (on the event loop: two unlinks)."""
        self.close()
        for path in (self.path, self.offset_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def prepend(self, lines: list[bytes], offset: int) -> None:
        """Rewrite the journal as ``lines`` then what is not committed yet after ``offset``."""
        with self._lock:
            self.generation += 1
            self._prepend(lines, offset)

    def _prepend(self, lines: list[bytes], offset: int) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".jsonl.tmp")
        with open(tmp, "wb") as out:
            out.writelines(lines)
            if self.path.exists():
                with open(self.path, "rb") as old:
                    old.seek(offset)
                    while chunk := old.read(1 << 20):
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(FileNotFoundError):
            self.offset_path.unlink()
        _fsync_directory(self.path.parent)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DeadLetter:
    """Records the database refused for good, one JSON object a line, appended and fsync'd."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def count(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                return sum(1 for _ in fh)
        except FileNotFoundError:
            return 0

    def append(self, entry: Mapping[str, Any], durable: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(_json_line(entry))
            fh.flush()
            if durable:
                os.fsync(fh.fileno())


@dataclass(frozen=True, slots=True)
class WriterStatus:
    name: str
    #: in memory, including the batch being written
    queued: int
    #: in the journal, not committed yet
    journaled: int
    #: in the dead letter file (what was there at start, and since)
    dead_lettered: int
    #: committed since start
    written: int
    #: did the database answer the last write (an error that is the record's counts as an answer)
    database_reachable: bool
    last_error: str | None
    #: epoch seconds
    last_error_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "journaled": self.journaled,
            "dead_lettered": self.dead_lettered,
            "written": self.written,
            "database_reachable": self.database_reachable,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


class BackgroundWriter(Generic[T]):
    """Stores what is ``put`` with ``save`` in batches; see the module's documentation.

    ``save`` must be idempotent: a batch may be written again after a lost commit
    acknowledgment or a crash. ``encode`` and ``decode`` turn a record into a JSON
    object and back (the journal and the dead letter). ``name`` names the files.
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
    ) -> None:
        self._save_batch = save
        self._what = what
        self.name = name
        self._encode = encode
        self._decode = decode
        self._settings = settings or StorageSettings()
        self._sleep = sleep
        directory = Path(self._settings.journal_dir)
        self._journal = Journal(directory / f"{name}.jsonl")
        self._dead = DeadLetter(directory / f"{name}.dead.jsonl")
        self._memory: deque[T] = deque()
        #: the batch being written, split into parts once a record in it was refused
        self._parts: deque[list[T]] = deque()
        self._parts_from_journal = False
        #: committed offset of the journal, and its lines after that offset
        self._offset = 0
        self._journaled = 0
        self._dead_lettered = 0
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
            dead_lettered=self._dead_lettered,
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
                    _fsync_and_close(fd)
            return
        if self._journaled == 0 and len(self._memory) < self._settings.queue_size:
            self._memory.append(item)
            self._wake.set()
            return
        self._to_journal(item)

    def _to_journal(self, item: T) -> None:
        try:
            line = _json_line(self._encode(item))
        except Exception as exc:  # noqa: BLE001  (a record that cannot be encoded is its own fault)
            self._dead_letter_now(repr(item), exc)
            return
        try:
            self._journal.append(line)
        except OSError as exc:
            # the disk is full or gone: keep it in memory rather than lose it (order may suffer)
            log.error("%s: cannot append to %s (%s); kept in memory", self._what,
                      self._journal.path, exc)
            self._memory.append(item)
        else:
            if self._journaled == 0:
                log.warning("%s: more than %d waiting; journaling to %s", self._what,
                            self._settings.queue_size, self._journal.path)
            self._journaled += 1
            self._dirty.set()
        self._wake.set()

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the journal; write what it holds first (waiting up to ``replay_timeout``)."""
        self._offset, self._journaled = await asyncio.to_thread(self._journal.load)
        self._dead_lettered = await asyncio.to_thread(self._dead.count)
        if self._dead_lettered:
            log.warning("%s: %d records in the dead letter %s", self._what, self._dead_lettered,
                        self._dead.path)
        if self._journaled and self._memory:
            early = list(self._memory)  # put before start: newer than the journal
            self._memory.clear()
            for item in early:
                self._to_journal(item)
        self._task = asyncio.create_task(self._run(), name=f"writer: {self._what}")
        self._flusher = asyncio.create_task(self._flush(), name=f"journal fsync: {self._what}")
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
                    lines.append(_json_line(self._encode(item)))
                except Exception as exc:  # noqa: BLE001  (as in put)
                    self._dead_letter_now(repr(item), exc)
            await asyncio.to_thread(self._journal.prepend, lines, self._offset)
            self._offset = 0
            self._journaled += len(lines)
        fd = self._journal.dup()
        if fd is not None:
            await asyncio.to_thread(_fsync_and_close, fd)
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
                await self._dead_letter(raw.decode(errors="replace").rstrip("\n"), exc)
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
                                self._what, len(part), attempt, delay, _describe(exc, 300))
                    await self._sleep(delay)
                    delay = min(delay * 2, self._settings.retry_max)
                    continue
                self._failed(exc, reachable=True)
                self._progress.set()
                self._parts.popleft()
                if len(part) == 1:
                    await self._dead_letter(self._encode_or_repr(part[0]), exc)
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
        self._last_error = _describe(exc, 500)
        self._last_error_at = time.time()

    def _encode_or_repr(self, item: T) -> Any:
        try:
            return self._encode(item)
        except Exception:  # noqa: BLE001  (the dead letter takes it as text then)
            return repr(item)

    def _dead_entry(self, record: Any, exc: BaseException) -> dict[str, Any]:
        return {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "writer": self.name,
            "error": _describe(exc),
            "record": record,
        }

    async def _dead_letter(self, record: Any, exc: BaseException) -> None:
        entry = self._dead_entry(record, exc)
        try:
            await asyncio.to_thread(self._dead.append, entry)
        except OSError as io_error:
            log.error("%s: cannot write the dead letter %s (%s); the record: %s", self._what,
                      self._dead.path, io_error, json.dumps(entry, ensure_ascii=False))
        self._dead_lettered += 1
        log.error("%s: a record refused for good, moved to %s: %s; record %s", self._what,
                  self._dead.path, _describe(exc, 300), json.dumps(record, ensure_ascii=False)[:300])

    def _dead_letter_now(self, record: Any, exc: BaseException) -> None:
        """The same from synchronous code (a record that cannot be encoded): rare, no fsync."""
        try:
            self._dead.append(self._dead_entry(record, exc), durable=False)
        except OSError as io_error:
            log.error("%s: cannot write the dead letter %s: %s", self._what, self._dead.path,
                      io_error)
        self._dead_lettered += 1
        log.error("%s: a record that cannot be encoded, moved to %s: %s; record %s", self._what,
                  self._dead.path, _describe(exc, 300), str(record)[:300])

    async def _flush(self) -> None:
        """fsync the journal at most every ``fsync_interval`` seconds while it is appended to."""
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._settings.fsync_interval)
            self._dirty.clear()
            fd = self._journal.dup()
            if fd is not None:
                try:
                    await asyncio.to_thread(_fsync_and_close, fd)
                except OSError as exc:
                    log.error("%s: fsync of %s failed: %s", self._what, self._journal.path, exc)
