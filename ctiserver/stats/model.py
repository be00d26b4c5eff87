"""Contact-center statistics: one log of normalised records, figures computed from it.

``StatsLog`` turns queue call events and agent updates into records: a call
offered to a queue, answered (with its wait), abandoned (with its wait), left
unanswered (timeout, full queue, exit key), a closed agent state interval and
a closed pause. ``QueueFigures.from_records`` computes the figures of a period
from records alone, so the live view (``live_figures``: the log plus the
agents' intervals still open, cut at now) and any later recomputation from the
stored log give the same numbers. docs/statistics.md defines every figure.

The longest current wait is not in the log: it is read from the live calls
(``longest_waits``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ctiserver.agents.model import Agent, AgentState, AgentUpdate, PauseInterval, StateInterval
from ctiserver.calls.model import Call, iso_utc, waiting_calls
from ctiserver.listeners import Listeners
from ctiserver.telephony.events import (
    AgentConnected,
    ChannelHungUp,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)

logger = logging.getLogger(__name__)

SERVICE_LEVEL_SECONDS = 20


@dataclass(frozen=True, slots=True)
class CallOffered:
    kind: ClassVar[str] = "offered"
    at: float
    queue: str
    linkedid: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """An agent connected; ``wait_seconds`` is from the offer to the connect."""

    kind: ClassVar[str] = "answered"
    at: float
    queue: str
    linkedid: str
    uniqueid: str
    offered_at: float
    wait_seconds: float
    interface: str
    agent_name: str | None = None


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """The caller hung up while waiting; ``wait_seconds`` is from the offer to the hangup."""

    kind: ClassVar[str] = "abandoned"
    at: float
    queue: str
    linkedid: str
    uniqueid: str
    offered_at: float
    wait_seconds: float


@dataclass(frozen=True, slots=True)
class CallUnanswered:
    """The caller left the queue unanswered and alive: timeout, full queue, exit key."""

    kind: ClassVar[str] = "unanswered"
    at: float
    queue: str
    linkedid: str
    uniqueid: str
    offered_at: float
    wait_seconds: float


Record = CallOffered | CallAnswered | CallAbandoned | CallUnanswered | StateInterval | PauseInterval
RecordListener = Callable[[Record], None]

_RECORD_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (CallOffered, CallAnswered, CallAbandoned, CallUnanswered, StateInterval,
                PauseInterval)
}


def record_to_dict(record: Record) -> dict[str, Any]:
    """A JSON-safe dict (epoch seconds) that ``record_from_dict`` reads back."""
    return {"kind": record.kind, **dataclasses.asdict(record)}


def record_from_dict(data: Mapping[str, Any]) -> Record:
    """The record of ``record_to_dict``; raises KeyError/TypeError on other input."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    cls = _RECORD_TYPES[data["kind"]]
    if cls is StateInterval:
        fields["state"] = AgentState(fields["state"])
    record: Record = cls(**fields)
    return record


@dataclass(slots=True)
class _Waiting:
    linkedid: str
    offered_at: float
    left_at: float | None = None


class StatsLog:
    """Appends records in event order; see the module docstring.

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


@dataclass(slots=True)
class QueueTotals:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    unanswered: int = 0
    answered_within_sl: int = 0
    answer_wait_total: float = 0.0
    longest_answer_wait: float = 0.0
    abandon_wait_total: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Percent answered within the threshold, of answered + abandoned; None if none."""
        handled = self.answered + self.abandoned
        return 100.0 * self.answered_within_sl / handled if handled else None

    @property
    def average_answer_seconds(self) -> float | None:
        return self.answer_wait_total / self.answered if self.answered else None

    @property
    def average_abandon_seconds(self) -> float | None:
        return self.abandon_wait_total / self.abandoned if self.abandoned else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "unanswered": self.unanswered,
            "answered_within_sl": self.answered_within_sl,
            "service_level": _round(self.service_level, 1),
            "average_answer_seconds": _round(self.average_answer_seconds, 1),
            "longest_answer_wait": round(self.longest_answer_wait, 1),
            "average_abandon_seconds": _round(self.average_abandon_seconds, 1),
        }


@dataclass(slots=True)
class AgentTotals:
    answered: int = 0
    state_seconds: dict[AgentState, float] = field(default_factory=dict)
    #: pause reason ('' when none was given) -> seconds
    pause_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "state_seconds": {s.value: round(v, 1) for s, v in self.state_seconds.items()},
            "pause_seconds": {r: round(v, 1) for r, v in self.pause_seconds.items()},
        }


@dataclass(slots=True)
class QueueFigures:
    """Per queue and per agent figures of the period [day_start, now]."""

    day_start: float
    now: float
    service_level_seconds: float
    queues: dict[str, QueueTotals] = field(default_factory=dict)
    agents: dict[str, AgentTotals] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls,
        records: Iterable[Record],
        day_start: float,
        now: float,
        service_level_seconds: float = SERVICE_LEVEL_SECONDS,
    ) -> QueueFigures:
        figures = cls(day_start, now, service_level_seconds)
        for record in records:
            figures.add(record)
        return figures

    def add(self, record: Record) -> None:
        """Count one more record of the period."""
        if isinstance(record, StateInterval | PauseInterval):
            self._add_interval(record)
        else:
            self._add_call(record)

    def cut_at(self, now: float) -> QueueFigures:
        """A copy as of ``now``, to add the open intervals to."""
        return QueueFigures(
            self.day_start, now, self.service_level_seconds,
            {name: dataclasses.replace(q) for name, q in self.queues.items()},
            {name: AgentTotals(a.answered, dict(a.state_seconds), dict(a.pause_seconds))
             for name, a in self.agents.items()},
        )

    def _add_call(self, r: CallOffered | CallAnswered | CallAbandoned | CallUnanswered) -> None:
        offered_at = r.at if isinstance(r, CallOffered) else r.offered_at
        # A call counts in the period it was offered in, its outcome once known by now.
        if not (self.day_start <= offered_at <= self.now and r.at <= self.now):
            return
        q = self.queues.setdefault(r.queue, QueueTotals())
        if isinstance(r, CallOffered):
            q.offered += 1
        elif isinstance(r, CallAnswered):
            q.answered += 1
            q.answer_wait_total += r.wait_seconds
            q.longest_answer_wait = max(q.longest_answer_wait, r.wait_seconds)
            if r.wait_seconds <= self.service_level_seconds:
                q.answered_within_sl += 1
            self.agents.setdefault(r.interface, AgentTotals()).answered += 1
        elif isinstance(r, CallAbandoned):
            q.abandoned += 1
            q.abandon_wait_total += r.wait_seconds
        else:
            q.unanswered += 1

    def _add_interval(self, r: StateInterval | PauseInterval) -> None:
        seconds = min(r.end, self.now) - max(r.start, self.day_start)
        if seconds <= 0:
            return
        agent = self.agents.setdefault(r.interface, AgentTotals())
        if isinstance(r, StateInterval):
            agent.state_seconds[r.state] = agent.state_seconds.get(r.state, 0.0) + seconds
        else:
            reason = r.reason or ""
            agent.pause_seconds[reason] = agent.pause_seconds.get(reason, 0.0) + seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "day_start": iso_utc(self.day_start),
            "now": iso_utc(self.now),
            "service_level_seconds": self.service_level_seconds,
            "queues": {name: q.to_dict() for name, q in sorted(self.queues.items())},
            "agents": {name: a.to_dict() for name, a in sorted(self.agents.items())},
        }


def open_intervals(agents: Iterable[Agent], now: float) -> list[Record]:
    """The agents' current state and pause, as if they closed at ``now``."""
    intervals: list[Record] = []
    for a in agents:
        if now > a.state_since:
            intervals.append(
                StateInterval(a.interface, a.state, a.state_since, now, a.state_reason)
            )
        if a.pause_started is not None and now > a.pause_started:
            intervals.append(PauseInterval(a.interface, a.pause_reason, a.pause_started, now))
    return intervals


def live_figures(
    log: StatsLog,
    agents: Iterable[Agent],
    day_start: float,
    now: float,
    service_level_seconds: float = SERVICE_LEVEL_SECONDS,
) -> QueueFigures:
    """The figures so far: the log's records plus the open intervals cut at ``now``."""
    records = [*log.records(since=day_start), *open_intervals(agents, now)]
    return QueueFigures.from_records(records, day_start, now, service_level_seconds)


class TodayFigures:
    """``live_figures`` at the cost of the agents alone, however long the day has been.

    The wallboard reads the figures every second; recounting every record of the day
    each time grows with the day (tens of thousands of records by evening on a busy
    hotline). Instead the day's records are counted once, as the log appends them, and
    each reading copies those totals and adds the agents' open intervals cut at now.
    Same records, same definitions: the figures equal ``live_figures``.
    """

    def __init__(self, log: StatsLog, service_level_seconds: float = SERVICE_LEVEL_SECONDS) -> None:
        self._log = log
        self._service_level_seconds = service_level_seconds
        self._counted: QueueFigures | None = None
        self._generation = -1
        log.subscribe(self._append)

    def figures(self, agents: Iterable[Agent], day_start: float, now: float) -> QueueFigures:
        counted = self._counted
        if counted is None or counted.day_start != day_start or self._generation != self._log.generation:
            # a new day, or history restored: count the day's records again, once
            counted = self._counted = QueueFigures.from_records(
                self._log.records(since=day_start), day_start, math.inf, self._service_level_seconds
            )
            self._generation = self._log.generation
        figures = counted.cut_at(now)
        for interval in open_intervals(agents, now):
            figures.add(interval)
        return figures

    def _append(self, record: Record) -> None:
        if self._counted is not None and record.at >= self._counted.day_start:
            self._counted.add(record)


def longest_waits(calls: Iterable[Call], now: float) -> dict[str, float]:
    """Per queue, how long its longest-waiting caller has waited (live calls only)."""
    longest: dict[str, float] = {}
    for call in waiting_calls(calls):
        if call.queue is not None and call.queue not in longest:
            longest[call.queue] = call.waited(now) or 0.0
    return longest


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
