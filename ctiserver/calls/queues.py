"""Queue rosters: which members each app_queue queue has, as Asterisk reports them.

The roster is a mirror of app_queue's member list, fed by the QueueMember*
events and corrected by a QueueStatus listing after every (re)connection. A
status or pause event about a member we do not know adds it: Asterisk only
reports members it has (static members are never "added").

Callers waiting in a queue are not kept here: the call model (``CallTracker``)
already follows them; ``waiting_calls`` reads them from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ctiserver.calls.model import Call, iso_utc
from ctiserver.listeners import Listeners
from ctiserver.telephony.events import (
    DeviceStatus,
    MemberEvent,
    QueueMemberListed,
    QueueMemberRemoved,
    QueueParamsListed,
)

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Member:
    queue: str
    interface: str
    name: str | None = None
    state_interface: str | None = None
    membership: str | None = None
    penalty: int | None = None
    paused: bool = False
    paused_reason: str | None = None
    status: DeviceStatus | None = None
    in_call: bool = False
    calls_taken: int = 0
    last_call: float | None = None
    login_time: float | None = None
    #: the member's own wrap-up time (0 or None: the queue's)
    wrapup_seconds: int | None = None
    updated_at: float = 0.0

    def update(self, e: MemberEvent) -> None:
        """Take the event's known values; an unknown (None) one keeps ours."""
        self.updated_at = max(self.updated_at, e.at)
        for attr, value in (
            ("name", e.member_name),
            ("state_interface", e.state_interface),
            ("membership", e.membership),
            ("penalty", e.penalty),
            ("paused", e.paused),
            ("status", e.status),
            ("in_call", e.in_call),
            ("calls_taken", e.calls_taken),
            ("last_call", e.last_call),
            ("login_time", e.login_time),
            ("wrapup_seconds", e.wrapup_seconds),
        ):
            if value is not None:
                setattr(self, attr, value)
        if e.paused is not None:
            self.paused_reason = e.paused_reason if e.paused else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "interface": self.interface,
            "name": self.name,
            "membership": self.membership,
            "penalty": self.penalty,
            "paused": self.paused,
            "paused_reason": self.paused_reason,
            "status": self.status.name.lower() if self.status is not None else None,
            "in_call": self.in_call,
            "calls_taken": self.calls_taken,
            "last_call": iso_utc(self.last_call),
            "login_time": iso_utc(self.login_time),
        }


@dataclass(slots=True)
class Queue:
    name: str
    #: by interface
    members: dict[str, Member] = field(default_factory=dict)
    #: the last QueueParams listing; None until a resync
    params: QueueParamsListed | None = None


QueueListener = Callable[[str], None]


class QueueRoster:
    """Members of every queue; listeners get the name of a queue that changed."""

    def __init__(self) -> None:
        self._queues: dict[str, Queue] = {}
        self._listeners: Listeners[str] = Listeners(logger, "queue")

    def subscribe(self, listener: QueueListener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def queues(self) -> list[str]:
        return sorted(self._queues)

    def queue(self, name: str) -> Queue | None:
        return self._queues.get(name)

    def members(self, queue: str) -> list[Member]:
        found = self._queues.get(queue)
        return list(found.members.values()) if found is not None else []

    def member(self, queue: str, interface: str) -> Member | None:
        found = self._queues.get(queue)
        return found.members.get(interface) if found is not None else None

    def queues_of(self, interface: str) -> list[str]:
        return sorted(name for name, q in self._queues.items() if interface in q.members)

    def handle(self, event: object) -> None:
        """Apply one member or QueueParams event; any other event is ignored."""
        if isinstance(event, QueueMemberRemoved):
            queue = self._queues.get(event.queue)
            if queue is not None and queue.members.pop(event.interface, None) is not None:
                self._emit(event.queue)
        elif isinstance(event, MemberEvent):
            self._upsert(event)
            self._emit(event.queue)
        elif isinstance(event, QueueParamsListed):
            self._queue(event.queue).params = event
            self._emit(event.queue)

    def resync(
        self, items: Sequence[QueueMemberListed | QueueParamsListed], at: float
    ) -> None:
        """Make the roster match a QueueStatus listing taken at ``at``.

        The listing is the truth: members it does not list were removed while
        we were not listening, and so were queues it neither lists nor names.
        """
        listed: dict[str, set[str]] = {}
        for item in items:
            listed.setdefault(item.queue, set())
            if isinstance(item, QueueMemberListed):
                listed[item.queue].add(item.interface)
        changed: set[str] = set()
        for name in list(self._queues):
            if name not in listed:
                del self._queues[name]
                changed.add(name)
                continue
            queue = self._queues[name]
            for interface in [i for i in queue.members if i not in listed[name]]:
                del queue.members[interface]
                changed.add(name)
        for item in items:
            if isinstance(item, QueueMemberListed):
                self._upsert(item)
            else:
                self._queue(item.queue).params = item
            changed.add(item.queue)
        logger.debug("queue roster resynchronised at %s: %d queues", at, len(self._queues))
        for name in sorted(changed):
            self._emit(name)

    def _queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name)
        return queue

    def _upsert(self, e: MemberEvent) -> None:
        queue = self._queue(e.queue)
        member = queue.members.get(e.interface)
        if member is None:
            member = queue.members[e.interface] = Member(e.queue, e.interface)
        member.update(e)

    def _emit(self, queue: str) -> None:
        self._listeners.notify(queue, queue)


def waiting_calls(calls: Iterable[Call], queue: str | None = None) -> list[Call]:
    """Calls still waiting in a queue (all queues if None), longest waiting first.

    Read from the call model's live calls (``CallTracker.active_calls()``).
    """
    waiting = [
        c for c in calls
        if c.queue_joined_at is not None and c.answered_at is None
        and c.queue_left_at is None and c.ended_at is None
        and (queue is None or c.queue == queue)
    ]
    return sorted(waiting, key=lambda c: c.queue_joined_at or 0.0)
