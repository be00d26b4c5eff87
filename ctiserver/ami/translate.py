"""AMI event messages -> typed domain events.

Only what the call model needs is translated; every other event gives ``None``.
Nothing here raises on a malformed message: a message without a Uniqueid gives
``None``; other missing, repeated (list-valued) or non-numeric fields become
``None`` or ``''`` (best effort). Most of the stream (VarSet, Newexten, ...) is
discarded after a single dictionary lookup, which keeps this cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from ctiserver.domain.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    Event,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
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


_Builder = Callable[[Mapping[str, str], float, str, str, str], Event]

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
}


def to_event(message: Mapping[str, str], received_at: float) -> Event | None:
    """The domain event for one AMI event message, or None if not of interest."""
    name = message.get("Event")
    if not isinstance(name, str):
        return None
    builder = _BUILDERS.get(name.lower())
    if builder is None:
        return None
    uniqueid = _text(message, "Uniqueid")
    if not uniqueid:
        return None
    # A channel is its own linkedid until Asterisk says otherwise.
    linkedid = _text(message, "Linkedid") or uniqueid
    return builder(
        message, _timestamp(message, received_at), uniqueid, linkedid, _text(message, "Channel")
    )


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
