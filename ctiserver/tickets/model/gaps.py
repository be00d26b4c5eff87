"""Which event ids after a consumer's cursor may be acted on, when ids commit out of order.

Ids run on from the cursor. A missing id below one already committed belongs to a
transaction that has not committed yet, or to one that rolled back (or an event deleted
with its ticket): the events after it are held back until it cannot come any more.

- SQLite has one writer at a time, and an id is taken inside the write: a gap below an id
  that is visible is final at once (``horizon`` None).
- PostgreSQL hands out ids before commit. The transaction that took a missing id took it
  before the higher id was taken and committed, so it was running when the gap was first
  seen: the gap is final once every transaction running then has ended, i.e. once the
  oldest transaction still running (the snapshot's ``xmin``) is not older than the first
  transaction id not yet given out when the gap was seen (that look's ``xmax``). A gap is
  also held ``grace`` seconds at least: a writer whose first write is the event itself takes
  the id an instant before its transaction id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Horizon:
    """PostgreSQL's snapshot at a look: the oldest transaction id still running (``xmin``)
    and the first one not given out yet (``xmax``)."""

    xmin: int
    xmax: int


def has_gap(cursor: int, ids: Sequence[int]) -> bool:
    """Whether ``ids`` (increasing, all after ``cursor``) miss one on the way."""
    return bool(ids) and ids[-1] - cursor != len(ids)


class Gaps:
    """The gaps a consumer has seen and waits for (no I/O: the looks bring the horizon)."""

    def __init__(self, grace: float) -> None:
        self._grace = grace
        #: the first id of a gap -> when it was first seen, and the xmax then
        self._seen: dict[int, tuple[float, int]] = {}

    def passable(self, cursor: int, ids: Sequence[int], now: float, horizon: Horizon | None) -> int:
        """How many of ``ids`` (increasing, all after ``cursor``) may be acted on now."""
        self._seen = {start: seen for start, seen in self._seen.items() if start > cursor}
        if horizon is None:
            return len(ids)
        expected = cursor + 1
        for index, event_id in enumerate(ids):
            if event_id != expected:
                first_seen, xmax = self._seen.setdefault(expected, (now, horizon.xmax))
                if now - first_seen < self._grace or horizon.xmin < xmax:
                    return index
            expected = event_id + 1
        return len(ids)

    def waiting(self) -> bool:
        """Whether a gap is being waited for (look again soon)."""
        return bool(self._seen)
