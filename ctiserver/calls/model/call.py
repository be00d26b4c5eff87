"""A call and its legs, as the ``CallTracker`` (tracker.py) keeps them; pure data.

Times are epoch seconds; ``to_dict`` gives the JSON view (ISO-8601 UTC).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso_utc(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


#: the ChannelId (so the call id) of a callback's placeholder holding a caller's place in a
#: queue: the calls' own word for "not a customer's call", which statistics, pops and the
#: callbacks' dialer all ask about
PLACEHOLDER_PREFIX = "cbq-"


def is_placeholder(call_id: str | None) -> bool:
    """Whether a call is a callback's placeholder in a queue (not a customer's call)."""
    return call_id is not None and call_id.startswith(PLACEHOLDER_PREFIX)


#: the ChannelId (so the call id) of the server's own announcement to a caller waiting in a
#: queue (a fair wait's whisper, ``ctiserver.waits``): not a call at all, which the call model
#: does not track (so no call record, no live call, no statistics)
ANNOUNCEMENT_PREFIX = "wn-"


def is_announcement(call_id: str | None) -> bool:
    """Whether a call id is the server's announcement to a waiting caller (not a call)."""
    return call_id is not None and call_id.startswith(ANNOUNCEMENT_PREFIX)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(max(value, 0.0), 3)


class CallState(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(slots=True)
class Leg:
    uniqueid: str
    channel: str
    caller_number: str | None = None
    caller_name: str | None = None
    state: str = ""
    created_at: float = 0.0
    #: when the channel first went 'Up'
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "uniqueid": self.uniqueid,
            "channel": self.channel,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "state": self.state,
            "created_at": iso_utc(self.created_at),
            "answered_at": iso_utc(self.answered_at),
            "ended_at": iso_utc(self.ended_at),
            "hangup_cause": self.hangup_cause,
            "hangup_cause_text": self.hangup_cause_text,
        }


@dataclass(eq=False, slots=True)
class Call:
    linkedid: str
    #: by Uniqueid, in creation order; the first one is the caller's leg
    legs: dict[str, Leg] = field(default_factory=dict)
    caller_number: str | None = None
    caller_name: str | None = None
    started_at: float = 0.0
    #: when an agent connected
    answered_at: float | None = None
    ended_at: float | None = None
    #: the last queue the caller joined
    queue: str | None = None
    #: MemberName (else Interface) of the last agent that connected
    agent: str | None = None
    #: when the call first joined a queue
    queue_joined_at: float | None = None
    #: when the call left its queue (connected, abandoned or timed out)
    queue_left_at: float | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None

    @property
    def state(self) -> CallState:
        return CallState.ACTIVE if self.ended_at is None else CallState.ENDED

    @property
    def caller_leg(self) -> Leg | None:
        return next(iter(self.legs.values()), None)

    def duration(self, now: float) -> float:
        end = now if self.ended_at is None else self.ended_at
        return max(end - self.started_at, 0.0)

    @property
    def wait_seconds(self) -> float | None:
        """Time in queue before an agent took the call.

        From the first queue join to the agent's connect, else to leaving the
        queue (abandon, timeout), else to the end of the call. None if the call
        never queued or is still waiting.
        """
        if self.queue_joined_at is None:
            return None
        for end in (self.answered_at, self.queue_left_at, self.ended_at):
            if end is not None:
                return max(end - self.queue_joined_at, 0.0)
        return None

    def waited(self, now: float) -> float | None:
        """``wait_seconds``, counting up to ``now`` while still waiting."""
        wait = self.wait_seconds
        if wait is None and self.queue_joined_at is not None:
            return max(now - self.queue_joined_at, 0.0)
        return wait

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON-safe view; times are ISO-8601 UTC, durations seconds."""
        return {
            "id": self.linkedid,
            "state": self.state.value,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "started_at": iso_utc(self.started_at),
            "answered_at": iso_utc(self.answered_at),
            "ended_at": iso_utc(self.ended_at),
            "duration": _seconds(self.duration(now)),
            "queue": self.queue,
            "agent": self.agent,
            "wait_seconds": _seconds(self.waited(now)),
            "hangup_cause": self.hangup_cause,
            "hangup_cause_text": self.hangup_cause_text,
            "legs": [leg.to_dict() for leg in self.legs.values()],
        }


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
