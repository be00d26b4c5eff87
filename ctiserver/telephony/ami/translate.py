"""AMI event messages -> typed domain events.

Only what the call, agent and queue models need is translated; every other
event gives ``None``. Nothing here raises on a malformed message: a channel
event without a Uniqueid, or a queue member event without a Queue or an
Interface, gives ``None``; other missing, repeated (list-valued) or non-numeric
fields become ``None`` or ``''`` (best effort). Most of the stream (VarSet,
Newexten, ...) is discarded after a single dictionary lookup, which keeps this
cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    DeviceStatus,
    DialEnded,
    DialStarted,
    DomainEvent,
    Event,
    MemberEvent,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
    QueueMemberAdded,
    QueueMemberListed,
    QueueMemberPauseChanged,
    QueueMemberRemoved,
    QueueMemberStatusChanged,
    QueueParamsListed,
)

_UNKNOWN_CALLER_ID = frozenset({"", "<unknown>"})


def _text(m: Mapping[str, str], key: str) -> str:
    """The header's value, or '' when missing or repeated (a list)."""
    value = m.get(key)
    return value if isinstance(value, str) else ""


def _opt(m: Mapping[str, str], key: str) -> str | None:
    return _text(m, key) or None


def _caller_id(m: Mapping[str, str], key: str) -> str | None:
    value = _text(m, key).strip()
    return None if value in _UNKNOWN_CALLER_ID else value


def _int(m: Mapping[str, str], key: str) -> int | None:
    try:
        return int(_text(m, key))
    except ValueError:
        return None


def _timestamp(message: Mapping[str, str], received_at: float) -> float:
    """Asterisk's ``Timestamp`` header (``timestampevents = yes``) wins."""
    raw = _text(message, "Timestamp")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return received_at
        if math.isfinite(value):
            return value
    return received_at


def _channel_created(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelCreated(
        at, uid, lid, chan,
        caller_number=_caller_id(m, "CallerIDNum"),
        caller_name=_caller_id(m, "CallerIDName"),
        context=_text(m, "Context"),
        exten=_text(m, "Exten"),
        state=_text(m, "ChannelStateDesc"),
    )


def _state_changed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelStateChanged(at, uid, lid, chan, state=_text(m, "ChannelStateDesc"))


def _caller_id_changed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return CallerIdChanged(
        at, uid, lid, chan,
        caller_number=_caller_id(m, "CallerIDNum"),
        caller_name=_caller_id(m, "CallerIDName"),
    )


def _hung_up(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelHungUp(
        at, uid, lid, chan,
        cause=_int(m, "Cause"),
        cause_text=_opt(m, "Cause-txt"),
    )


def _queue_joined(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerJoined(
        at, uid, lid, chan, queue=_text(m, "Queue"), position=_int(m, "Position")
    )


def _queue_entry(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    """A caller listed by QueueStatus (resync): joined ``Wait`` seconds ago.

    Its ``Priority`` is the queue priority, unlike QueueCallerJoin's, which is
    the dialplan priority of the channel and is therefore not used.
    """
    wait = max(_int(m, "Wait") or 0, 0)
    return QueueCallerJoined(
        at - wait, uid, lid, chan,
        queue=_text(m, "Queue"),
        position=_int(m, "Position"),
        priority=_int(m, "Priority"),
    )


def _queue_left(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerLeft(at, uid, lid, chan, queue=_text(m, "Queue"))


def _queue_abandoned(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerAbandoned(
        at, uid, lid, chan,
        queue=_text(m, "Queue"),
        position=_int(m, "Position"),
        original_position=_int(m, "OriginalPosition"),
        hold_seconds=_int(m, "HoldTime"),
    )


def _agent_fields(m: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "queue": _text(m, "Queue"),
        "interface": _text(m, "Interface"),
        "member_name": _opt(m, "MemberName"),
        "dest_channel": _opt(m, "DestChannel"),
        "dest_uniqueid": _opt(m, "DestUniqueid"),
    }


def _agent_called(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentCalled(at, uid, lid, chan, **_agent_fields(m))


def _agent_connected(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentConnected(
        at, uid, lid, chan, **_agent_fields(m),
        hold_seconds=_int(m, "HoldTime"),
        ring_seconds=_int(m, "RingTime"),
    )


def _agent_completed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentCompleted(
        at, uid, lid, chan, **_agent_fields(m),
        hold_seconds=_int(m, "HoldTime"),
        talk_seconds=_int(m, "TalkTime"),
        reason=_opt(m, "Reason"),
    )


def _agent_ring_no_answer(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentRingNoAnswer(
        at, uid, lid, chan, **_agent_fields(m), ring_seconds=_int(m, "RingTime")
    )


def _agent_dumped(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentDumped(at, uid, lid, chan, **_agent_fields(m))


def _dialled(m: Mapping[str, str], chan: str) -> tuple[str, str] | None:
    """The channel a Dial rings and its Uniqueid; None for an Originate's dial (no calling channel)."""
    dest_channel, dest_uniqueid = _text(m, "DestChannel"), _text(m, "DestUniqueid")
    return (dest_channel, dest_uniqueid) if chan and dest_channel and dest_uniqueid else None


def _dial_started(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event | None:
    dest = _dialled(m, chan)
    return None if dest is None else DialStarted(at, uid, lid, chan, *dest)


def _dial_ended(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event | None:
    dest = _dialled(m, chan)
    return None if dest is None else DialEnded(at, uid, lid, chan, *dest, _text(m, "DialStatus"))


_Builder = Callable[[Mapping[str, str], float, str, str, str], Event | None]

_BUILDERS: dict[str, _Builder] = {
    "newchannel": _channel_created,
    "newstate": _state_changed,
    "newcallerid": _caller_id_changed,
    "hangup": _hung_up,
    "queuecallerjoin": _queue_joined,
    "queueentry": _queue_entry,
    "queuecallerleave": _queue_left,
    "queuecallerabandon": _queue_abandoned,
    "agentcalled": _agent_called,
    "agentconnect": _agent_connected,
    "agentcomplete": _agent_completed,
    "agentringnoanswer": _agent_ring_no_answer,
    "agentdump": _agent_dumped,
    "dialbegin": _dial_started,
    "dialend": _dial_ended,
}


def to_event(message: Mapping[str, str], received_at: float) -> DomainEvent | None:
    """The domain event for one AMI event message, or None if not of interest."""
    name = message.get("Event")
    if not isinstance(name, str):
        return None
    builder = _BUILDERS.get(name.lower())
    if builder is None:
        queue_builder = _QUEUE_BUILDERS.get(name.lower())
        if queue_builder is None:
            return None
        return queue_builder(message, _timestamp(message, received_at))
    uniqueid = _text(message, "Uniqueid")
    if not uniqueid:
        return None
    # A channel is its own linkedid until Asterisk says otherwise.
    linkedid = _text(message, "Linkedid") or uniqueid
    return builder(
        message, _timestamp(message, received_at), uniqueid, linkedid, _text(message, "Channel")
    )


# Queue member and queue events name no channel: they need a Queue (and an
# Interface) instead of a Uniqueid.


def _flag(m: Mapping[str, str], key: str) -> bool | None:
    value = _text(m, key).strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


def _epoch(m: Mapping[str, str], key: str) -> float | None:
    """An epoch-seconds field; 0 (Asterisk's "never") and garbage are None."""
    try:
        value = float(_text(m, key))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _float(m: Mapping[str, str], key: str) -> float | None:
    try:
        value = float(_text(m, key))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _device_status(m: Mapping[str, str]) -> DeviceStatus | None:
    value = _int(m, "Status")
    try:
        return None if value is None else DeviceStatus(value)
    except ValueError:
        return None


_Member = TypeVar("_Member", bound=MemberEvent)


def _member(
    cls: type[_Member], m: Mapping[str, str], at: float,
    interface_key: str = "Interface", name_key: str = "MemberName",
) -> _Member | None:
    queue, interface = _text(m, "Queue"), _text(m, interface_key)
    if not queue or not interface:
        return None
    return cls(
        at, queue, interface,
        member_name=_opt(m, name_key),
        state_interface=_opt(m, "StateInterface"),
        membership=_opt(m, "Membership"),
        penalty=_int(m, "Penalty"),
        calls_taken=_int(m, "CallsTaken"),
        last_call=_epoch(m, "LastCall"),
        last_pause=_epoch(m, "LastPause"),
        login_time=_epoch(m, "LoginTime"),
        in_call=_flag(m, "InCall"),
        status=_device_status(m),
        paused=_flag(m, "Paused"),
        # Asterisk before 13 named it Reason.
        paused_reason=_opt(m, "PausedReason") or _opt(m, "Reason"),
        wrapup_seconds=_int(m, "Wrapuptime"),
    )


def _queue_params(m: Mapping[str, str], at: float) -> QueueParamsListed | None:
    queue = _text(m, "Queue")
    if not queue:
        return None
    return QueueParamsListed(
        at, queue,
        strategy=_opt(m, "Strategy"),
        max_callers=_int(m, "Max"),
        calls=_int(m, "Calls"),
        holdtime=_int(m, "Holdtime"),
        talktime=_int(m, "TalkTime"),
        completed=_int(m, "Completed"),
        abandoned=_int(m, "Abandoned"),
        service_level=_int(m, "ServiceLevel"),
        service_level_perf=_float(m, "ServicelevelPerf"),
        weight=_int(m, "Weight"),
    )


_QueueBuilder = Callable[[Mapping[str, str], float], DomainEvent | None]

_QUEUE_BUILDERS: dict[str, _QueueBuilder] = {
    "queuememberadded": lambda m, at: _member(QueueMemberAdded, m, at),
    "queuememberremoved": lambda m, at: _member(QueueMemberRemoved, m, at),
    "queuememberpause": lambda m, at: _member(QueueMemberPauseChanged, m, at),
    "queuememberstatus": lambda m, at: _member(QueueMemberStatusChanged, m, at),
    "queuemember": lambda m, at: _member(QueueMemberListed, m, at, "Location", "Name"),
    "queueparams": _queue_params,
}


def queue_status_items(
    messages: Iterable[Mapping[str, str]], at: float
) -> list[QueueMemberListed | QueueParamsListed]:
    """The QueueMember and QueueParams items of a QueueStatus result, taken at ``at``.

    QueueEntry items (waiting callers) are not among them: ``to_event`` gives
    those to the call model. Items without a Queue (or Location) are skipped.
    """
    items: list[QueueMemberListed | QueueParamsListed] = []
    for m in messages:
        name = m.get("Event")
        if not isinstance(name, str) or name.lower() not in ("queuemember", "queueparams"):
            continue
        item = _QUEUE_BUILDERS[name.lower()](m, at)
        if isinstance(item, QueueMemberListed | QueueParamsListed):
            items.append(item)
    return items


def parse_duration(value: str) -> float:
    """``'HH:MM:SS'`` (hours may exceed 99) or plain seconds -> seconds; 0 if garbage."""
    if not value:
        return 0.0
    total = 0.0
    try:
        for part in value.strip().split(":"):
            total = total * 60 + float(part)
    except ValueError:
        return 0.0
    return total if math.isfinite(total) and total > 0 else 0.0


def channel_snapshots(messages: Iterable[Mapping[str, str]]) -> list[ChannelSnapshot]:
    """Snapshots from a CoreShowChannels result; other list items are skipped."""
    snapshots: list[ChannelSnapshot] = []
    for m in messages:
        name = m.get("Event")
        if not isinstance(name, str) or name.lower() != "coreshowchannel":
            continue
        uniqueid = _text(m, "Uniqueid")
        if not uniqueid:
            continue
        snapshots.append(
            ChannelSnapshot(
                uniqueid=uniqueid,
                linkedid=_text(m, "Linkedid") or uniqueid,
                channel=_text(m, "Channel"),
                caller_number=_caller_id(m, "CallerIDNum"),
                caller_name=_caller_id(m, "CallerIDName"),
                state=_text(m, "ChannelStateDesc"),
                duration=parse_duration(_text(m, "Duration")),
                context=_text(m, "Context"),
                exten=_text(m, "Exten"),
            )
        )
    return snapshots
