"""The dead letter: records the database refused for good, kept for an operator.

A batch that fails for a permanent reason is split in halves until the records at
fault are alone; each comes here (``NAME.dead.jsonl``: the time, the error, the
record) with an error logged, and the others are written. A record that cannot even
be encoded comes here too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ctiserver.storage.writer.errors import describe
from ctiserver.storage.writer.journal import json_line

#: the package's logger: the log lines name ``ctiserver.storage.writer`` as they always did
log = logging.getLogger("ctiserver.storage.writer")


class DeadLetter:
    """Records the database refused for good, one JSON object a line, appended and fsync'd.

    ``writer`` is the writer's name (in each entry), ``what`` what it stores (in the logs).
    """

    def __init__(self, path: Path, *, writer: str, what: str) -> None:
        self.path = path
        self._writer = writer
        self._what = what
        #: in the file: what was there at start (set by the writer from :meth:`count`), and since
        self.entries = 0

    def count(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                return sum(1 for _ in fh)
        except FileNotFoundError:
            return 0

    def append(self, entry: Mapping[str, Any], durable: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(json_line(entry))
            fh.flush()
            if durable:
                os.fsync(fh.fileno())

    def entry(self, record: Any, exc: BaseException) -> dict[str, Any]:
        return {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "writer": self._writer,
            "error": describe(exc),
            "record": record,
        }

    async def put(self, record: Any, exc: BaseException) -> None:
        """Set ``record`` aside (fsync'd, in a thread), with an error logged."""
        entry = self.entry(record, exc)
        try:
            await asyncio.to_thread(self.append, entry)
        except OSError as io_error:
            log.error("%s: cannot write the dead letter %s (%s); the record: %s", self._what,
                      self.path, io_error, json.dumps(entry, ensure_ascii=False))
        self.entries += 1
        log.error("%s: a record refused for good, moved to %s: %s; record %s", self._what,
                  self.path, describe(exc, 300), json.dumps(record, ensure_ascii=False)[:300])

    def put_now(self, record: Any, exc: BaseException) -> None:
        """The same from synchronous code (a record that cannot be encoded): rare, no fsync."""
        try:
            self.append(self.entry(record, exc), durable=False)
        except OSError as io_error:
            log.error("%s: cannot write the dead letter %s: %s", self._what, self.path,
                      io_error)
        self.entries += 1
        log.error("%s: a record that cannot be encoded, moved to %s: %s; record %s", self._what,
                  self.path, describe(exc, 300), str(record)[:300])
