"""Typed domain events: the part of the AMI stream the call model consumes.

Every event names the channel it is about (``uniqueid``) and the call it belongs
to (``linkedid``), and carries ``at``, epoch seconds of when it happened. Caller
ID values Asterisk reports as ``<unknown>`` or empty are ``None`` here.
"""

from __future__ import annotations

import enum
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


@dataclass(frozen=True, slots=True)
class DialStarted(ChannelEvent):
    """A channel (``channel``, e.g. a transferred caller) dials another (``dest_channel``).

    app_queue's own rings also show as dials, just after their AgentCalled.
    """

    dest_channel: str
    dest_uniqueid: str


@dataclass(frozen=True, slots=True)
class DialEnded(ChannelEvent):
    dest_channel: str
    dest_uniqueid: str
    #: Asterisk's DialStatus: 'ANSWER', 'BUSY', 'NOANSWER', 'CANCEL', ...
    status: str


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
    | DialStarted
    | DialEnded
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


@dataclass(frozen=True, slots=True)
class AgentDumped(AgentEvent):
    """The member hung up on the caller before being bridged (AgentDump)."""


class DeviceStatus(enum.IntEnum):
    """Asterisk's AST_DEVICE_* numbers, as in a member's ``Status`` field."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


@dataclass(frozen=True, slots=True)
class MemberEvent:
    """A queue member as app_queue reports it (``agent`` class events).

    ``interface`` is the member's dial string (``Local/1001@agents``,
    ``PJSIP/1001``). Every other field is ``None`` when absent or garbage;
    epoch fields are also ``None`` when Asterisk reports 0 (never).
    """

    at: float
    queue: str
    interface: str
    member_name: str | None = None
    state_interface: str | None = None
    #: 'static', 'dynamic' or 'realtime'
    membership: str | None = None
    penalty: int | None = None
    calls_taken: int | None = None
    last_call: float | None = None
    last_pause: float | None = None
    login_time: float | None = None
    in_call: bool | None = None
    status: DeviceStatus | None = None
    paused: bool | None = None
    paused_reason: str | None = None
    #: the member's own wrap-up time; 0 means "the queue's"
    wrapup_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class QueueMemberAdded(MemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberRemoved(MemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberPauseChanged(MemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberStatusChanged(MemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberListed(MemberEvent):
    """A ``QueueMember`` item of a QueueStatus listing (resync): the truth at ``at``."""


@dataclass(frozen=True, slots=True)
class QueueParamsListed:
    """A ``QueueParams`` item of a QueueStatus listing; counters are Asterisk's own."""

    at: float
    queue: str
    strategy: str | None = None
    #: 0 means unlimited
    max_callers: int | None = None
    calls: int | None = None
    holdtime: int | None = None
    talktime: int | None = None
    completed: int | None = None
    abandoned: int | None = None
    service_level: int | None = None
    service_level_perf: float | None = None
    weight: int | None = None


QueueMemberEvent = (
    QueueMemberAdded
    | QueueMemberRemoved
    | QueueMemberPauseChanged
    | QueueMemberStatusChanged
    | QueueMemberListed
)

#: everything ``to_event`` can give
DomainEvent = Event | AgentDumped | QueueMemberEvent | QueueParamsListed
