"""Typed domain events: the part of the AMI stream the call model consumes.

Every event names the channel it is about (``uniqueid``) and the call it belongs
to (``linkedid``), and carries ``at``, epoch seconds of when it happened. Caller
ID values Asterisk reports as ``<unknown>`` or empty are ``None`` here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    at: float
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class ChannelCreated(ChannelEvent):
    caller_number: str | None
    caller_name: str | None
    context: str
    exten: str
    state: str


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(ChannelEvent):
    #: Asterisk's ChannelStateDesc: 'Down', 'Ring', 'Ringing', 'Up', 'Busy', ...
    state: str


@dataclass(frozen=True, slots=True)
class CallerIdChanged(ChannelEvent):
    caller_number: str | None
    caller_name: str | None


@dataclass(frozen=True, slots=True)
class ChannelHungUp(ChannelEvent):
    #: Q.850 cause code; None when Asterisk sent none or garbage
    cause: int | None
    cause_text: str | None


@dataclass(frozen=True, slots=True)
class QueueCallerJoined(ChannelEvent):
    queue: str
    #: 1-based place in the queue when joining; None if absent or garbage
    position: int | None
    #: queue priority (QUEUE_PRIO); only QueueStatus's QueueEntry reports it
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class QueueCallerLeft(ChannelEvent):
    queue: str


@dataclass(frozen=True, slots=True)
class QueueCallerAbandoned(ChannelEvent):
    queue: str
    position: int | None
    original_position: int | None
    hold_seconds: int | None


@dataclass(frozen=True, slots=True)
class AgentEvent(ChannelEvent):
    """An app_queue member event; ``channel`` is the queued caller's channel."""

    queue: str
    interface: str
    member_name: str | None
    #: the channel ringing the member, e.g. ``Local/1001@agents-00000036;1``
    dest_channel: str | None
    dest_uniqueid: str | None


@dataclass(frozen=True, slots=True)
class AgentCalled(AgentEvent):
    pass


@dataclass(frozen=True, slots=True)
class AgentConnected(AgentEvent):
    hold_seconds: int | None
    ring_seconds: int | None


@dataclass(frozen=True, slots=True)
class AgentCompleted(AgentEvent):
    hold_seconds: int | None
    talk_seconds: int | None
    #: 'caller', 'agent' or 'transfer': who ended the conversation
    reason: str | None


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(AgentEvent):
    ring_seconds: int | None


Event = (
    ChannelCreated
    | ChannelStateChanged
    | CallerIdChanged
    | ChannelHungUp
    | QueueCallerJoined
    | QueueCallerLeft
    | QueueCallerAbandoned
    | AgentCalled
    | AgentConnected
    | AgentCompleted
    | AgentRingNoAnswer
)


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One live channel as listed by CoreShowChannels when resynchronising."""

    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str | None
    caller_name: str | None
    state: str
    duration: float
    context: str = ""
    exten: str = ""
