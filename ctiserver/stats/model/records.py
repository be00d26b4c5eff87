"""The statistics records: what happened to a queue call, and the agents' closed intervals.

Each record has a ``kind`` and an ``at`` (when it happened: an interval's end);
``record_to_dict`` and ``record_from_dict`` are how they are stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ctiserver.agents.model import AgentState, PauseInterval, StateInterval


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


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """An answered call ended at the agent (AgentComplete): Asterisk's talk time, and who
    ended it (``reason``: 'caller', 'agent' or 'transfer')."""

    kind: ClassVar[str] = "completed"
    at: float
    queue: str
    linkedid: str
    uniqueid: str
    interface: str
    talk_seconds: float
    reason: str | None = None


Record = (
    CallOffered | CallAnswered | CallAbandoned | CallUnanswered | CallCompleted | StateInterval
    | PauseInterval
)
RecordListener = Callable[[Record], None]

_RECORD_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (CallOffered, CallAnswered, CallAbandoned, CallUnanswered, CallCompleted,
                StateInterval, PauseInterval)
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
