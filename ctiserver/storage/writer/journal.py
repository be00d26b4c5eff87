"""The journal: records beyond the memory bound, on local disk until they are committed.

``NAME.jsonl`` under ``storage.journal_dir``, one JSON object a line: a small
synchronous write of one line, flushed to the operating system; fsync is done in
batches in a thread, every ``storage.fsync_interval`` seconds (:func:`fsync_periodically`).
A line leaves the journal only once it is committed: the committed byte offset is
kept beside it (``NAME.offset``), the file is deleted when all of it is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

#: the package's logger: the log lines name ``ctiserver.storage.writer`` as they always did
log = logging.getLogger("ctiserver.storage.writer")


def json_line(data: Any) -> bytes:
    """One line of the journal or the dead letter."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def fsync_and_close(fd: int) -> None:
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



async def fsync_periodically(journal: Journal, dirty: asyncio.Event, interval: float, what: str) -> None:
    """fsync the journal at most every ``interval`` seconds while it is appended to (``dirty``)."""
    while True:
        await dirty.wait()
        await asyncio.sleep(interval)
        dirty.clear()
        fd = journal.dup()
        if fd is not None:
            try:
                await asyncio.to_thread(fsync_and_close, fd)
            except OSError as exc:
                log.error("%s: fsync of %s failed: %s", what, journal.path, exc)
