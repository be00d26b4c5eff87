"""What a writer says of itself: :meth:`BackgroundWriter.status`, reported by ``/healthz``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
