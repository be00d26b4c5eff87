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

The parts: :mod:`.background` (the writer: queue, task, start and stop),
:mod:`.journal`, :mod:`.dead_letter`, :mod:`.errors` (transient or the record's own)
and :mod:`.status`.
"""

from ctiserver.storage.writer.background import BackgroundWriter
from ctiserver.storage.writer.dead_letter import DeadLetter
from ctiserver.storage.writer.errors import PERMANENT_SQLSTATE_CLASSES, TRANSIENT_SQLSTATE_CLASSES, is_transient
from ctiserver.storage.writer.journal import Journal
from ctiserver.storage.writer.status import WriterStatus

__all__ = [
    "PERMANENT_SQLSTATE_CLASSES",
    "TRANSIENT_SQLSTATE_CLASSES",
    "BackgroundWriter",
    "DeadLetter",
    "Journal",
    "WriterStatus",
    "is_transient",
]
