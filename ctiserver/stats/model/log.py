"""``StatsLog``: turns queue call events and agent updates into records, in event order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ctiserver.agents.model import AgentUpdate
from ctiserver.listeners import Listeners
from ctiserver.stats.model.records import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
    RecordListener,
)
from ctiserver.telephony.events import (
    AgentCompleted,
    AgentConnected,
    ChannelHungUp,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    linkedid: str
    offered_at: float
    left_at: float | None = None


class StatsLog:
    """Appends records in event order; see the package docstring.

    Feed it the same typed events as the call model (``handle``) and subscribe
    ``on_agent_update`` to the ``AgentBoard``. ``records`` given at creation
    (the stored history) are kept as they are.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._records: list[Record] = list(records)
        #: changes whenever records are put in or taken out other than by appending
        self.generation = 0
        #: caller Uniqueid -> queue -> the pending offer
        self._waiting: dict[str, dict[str, _Waiting]] = {}
        self._listeners: Listeners[Record] = Listeners(logger, "statistics")
        self._handlers: dict[type, Callable[[Any], None]] = {
            QueueCallerJoined: self._on_joined,
            QueueCallerLeft: self._on_left,
            QueueCallerAbandoned: self._on_abandoned,
            AgentConnected: self._on_connected,
            AgentCompleted: self._on_completed,
            ChannelHungUp: self._on_hung_up,
        }

    def subscribe(self, listener: RecordListener) -> Callable[[], None]:
        """Listeners get every new record (to store it)."""
        return self._listeners.subscribe(listener)

    def restore(self, stored: Iterable[Record]) -> None:
        """Put the stored history (e.g. today's, after a restart) before what came since."""
        self._records[:0] = list(stored)
        self.generation += 1

    def records(self, since: float | None = None) -> list[Record]:
        """All records, or those that happened (``at``, an interval's end) at or after ``since``."""
        if since is None:
            return list(self._records)
        return [r for r in self._records if r.at >= since]

    def forget_before(self, at: float) -> int:
        """Drop records that happened before ``at`` (already stored); how many."""
        kept = [r for r in self._records if r.at >= at]
        dropped = len(self._records) - len(kept)
        self._records = kept
        self.generation += 1
        return dropped

    def handle(self, event: object) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def on_agent_update(self, update: AgentUpdate) -> None:
        for interval in update.closed:
            self._append(interval)

    def resync(self, alive_uniqueids: Iterable[str], at: float) -> None:
        """Forget offers of callers whose channel is gone (CoreShowChannels at ``at``).

        One that had left its queue was not answered there (no AgentConnect
        came); what became of one still waiting is unknown: it gets no outcome.
        """
        alive = set(alive_uniqueids)
        for uniqueid in [u for u in self._waiting if u not in alive]:
            for queue, waiting in self._waiting.pop(uniqueid).items():
                if waiting.left_at is not None:
                    self._unanswered(uniqueid, queue, waiting)
                else:
                    logger.info("offer of %s to %s lost during AMI outage", uniqueid, queue)
        logger.debug("statistics resynchronised at %s", at)

    def _append(self, record: Record) -> None:
        self._records.append(record)
        self._listeners.notify(record, record)

    def _offer(self, uniqueid: str, linkedid: str, queue: str, at: float) -> _Waiting:
        self._append(CallOffered(at, queue, linkedid, uniqueid))
        return _Waiting(linkedid, at)

    def _take(
        self, uniqueid: str, linkedid: str, queue: str, at: float, wait: int | None
    ) -> _Waiting:
        """The pending offer; one made before we were listening is recorded now,
        ``wait`` (Asterisk's HoldTime) seconds ago."""
        offers = self._waiting.get(uniqueid, {})
        waiting = offers.pop(queue, None)
        if not offers:
            self._waiting.pop(uniqueid, None)
        if waiting is None:
            waiting = self._offer(uniqueid, linkedid, queue, at - max(wait or 0, 0))
        return waiting

    def _unanswered(self, uniqueid: str, queue: str, w: _Waiting) -> None:
        left = w.left_at if w.left_at is not None else w.offered_at
        self._append(CallUnanswered(
            left, queue, w.linkedid, uniqueid, w.offered_at, max(left - w.offered_at, 0.0)
        ))

    def _on_joined(self, e: QueueCallerJoined) -> None:
        offers = self._waiting.get(e.uniqueid, {})
        current = offers.get(e.queue)
        if current is not None and current.left_at is None:
            return  # listed again by QueueStatus after a reconnection
        # Joining again (another queue, or the same after a timeout): the
        # offers it left are settled as unanswered.
        for queue, waiting in list(offers.items()):
            if waiting.left_at is not None:
                del offers[queue]
                self._unanswered(e.uniqueid, queue, waiting)
        self._waiting.setdefault(e.uniqueid, {})[e.queue] = self._offer(
            e.uniqueid, e.linkedid, e.queue, e.at
        )

    def _on_left(self, e: QueueCallerLeft) -> None:
        waiting = self._waiting.get(e.uniqueid, {}).get(e.queue)
        if waiting is not None and waiting.left_at is None:
            waiting.left_at = e.at

    def _on_abandoned(self, e: QueueCallerAbandoned) -> None:
        w = self._take(e.uniqueid, e.linkedid, e.queue, e.at, e.hold_seconds)
        self._append(CallAbandoned(
            e.at, e.queue, w.linkedid, e.uniqueid, w.offered_at, max(e.at - w.offered_at, 0.0)
        ))

    def _on_connected(self, e: AgentConnected) -> None:
        w = self._take(e.uniqueid, e.linkedid, e.queue, e.at, e.hold_seconds)
        self._append(CallAnswered(
            e.at, e.queue, w.linkedid, e.uniqueid, w.offered_at, max(e.at - w.offered_at, 0.0),
            e.interface, e.member_name,
        ))

    def _on_completed(self, e: AgentCompleted) -> None:
        self._append(CallCompleted(
            e.at, e.queue, e.linkedid, e.uniqueid, e.interface, float(max(e.talk_seconds or 0, 0)),
            e.reason,
        ))

    def _on_hung_up(self, e: ChannelHungUp) -> None:
        for queue, w in self._waiting.pop(e.uniqueid, {}).items():
            if w.left_at is not None:
                self._unanswered(e.uniqueid, queue, w)
            else:
                # Hung up in the queue without a QueueCallerAbandon we saw.
                self._append(CallAbandoned(
                    e.at, queue, w.linkedid, e.uniqueid, w.offered_at,
                    max(e.at - w.offered_at, 0.0),
                ))
