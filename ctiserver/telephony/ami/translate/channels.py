"""Channel, queue caller, agent and dial events -> domain events, and CoreShowChannels listings.

Each of these events names a channel: a builder gets the message, its time,
the channel's Uniqueid, Linkedid and name (see ``to_event``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TypedDict

from ctiserver.telephony.ami.message import lowered_headers
from ctiserver.telephony.ami.translate.fields import caller_id, integer, opt, text
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
    DialEnded,
    DialStarted,
    DomainEvent,
    Event,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)


def _channel_created(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelCreated(
        at, uid, lid, chan,
        caller_number=caller_id(m, "calleridnum"),
        caller_name=caller_id(m, "calleridname"),
        context=text(m, "context"),
        exten=text(m, "exten"),
        state=text(m, "channelstatedesc"),
    )


def _state_changed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelStateChanged(at, uid, lid, chan, state=text(m, "channelstatedesc"))


def _caller_id_changed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return CallerIdChanged(
        at, uid, lid, chan,
        caller_number=caller_id(m, "calleridnum"),
        caller_name=caller_id(m, "calleridname"),
    )


def _hung_up(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return ChannelHungUp(
        at, uid, lid, chan,
        cause=integer(m, "cause"),
        cause_text=opt(m, "cause-txt"),
    )


def _queue_joined(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerJoined(
        at, uid, lid, chan, queue=text(m, "queue"), position=integer(m, "position")
    )


def _queue_entry(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    """A caller listed by QueueStatus (resync): joined ``Wait`` seconds ago.

    Its ``Priority`` is the queue priority, unlike QueueCallerJoin's, which is
    the dialplan priority of the channel and is therefore not used.
    """
    wait = max(integer(m, "wait") or 0, 0)
    return QueueCallerJoined(
        at - wait, uid, lid, chan,
        queue=text(m, "queue"),
        position=integer(m, "position"),
        priority=integer(m, "priority"),
    )


def _queue_left(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerLeft(at, uid, lid, chan, queue=text(m, "queue"))


def _queue_abandoned(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return QueueCallerAbandoned(
        at, uid, lid, chan,
        queue=text(m, "queue"),
        position=integer(m, "position"),
        original_position=integer(m, "originalposition"),
        hold_seconds=integer(m, "holdtime"),
    )


class _AgentFields(TypedDict):
    queue: str
    interface: str
    member_name: str | None
    dest_channel: str | None
    dest_uniqueid: str | None


def _agent_fields(m: Mapping[str, str]) -> _AgentFields:
    return {
        "queue": text(m, "queue"),
        "interface": text(m, "interface"),
        "member_name": opt(m, "membername"),
        "dest_channel": opt(m, "destchannel"),
        "dest_uniqueid": opt(m, "destuniqueid"),
    }


def _agent_called(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentCalled(at, uid, lid, chan, **_agent_fields(m))


def _agent_connected(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentConnected(
        at, uid, lid, chan, **_agent_fields(m),
        hold_seconds=integer(m, "holdtime"),
        ring_seconds=integer(m, "ringtime"),
    )


def _agent_completed(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentCompleted(
        at, uid, lid, chan, **_agent_fields(m),
        hold_seconds=integer(m, "holdtime"),
        talk_seconds=integer(m, "talktime"),
        reason=opt(m, "reason"),
    )


def _agent_ring_no_answer(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event:
    return AgentRingNoAnswer(
        at, uid, lid, chan, **_agent_fields(m), ring_seconds=integer(m, "ringtime")
    )


def _agent_dumped(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> DomainEvent:
    return AgentDumped(at, uid, lid, chan, **_agent_fields(m))


def _dialled(m: Mapping[str, str], chan: str) -> tuple[str, str] | None:
    """The channel a Dial rings and its Uniqueid; None for an Originate's dial (no calling channel)."""
    dest_channel, dest_uniqueid = text(m, "destchannel"), text(m, "destuniqueid")
    return (dest_channel, dest_uniqueid) if chan and dest_channel and dest_uniqueid else None


def _dial_started(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event | None:
    dest = _dialled(m, chan)
    return None if dest is None else DialStarted(at, uid, lid, chan, *dest)


def _dial_ended(m: Mapping[str, str], at: float, uid: str, lid: str, chan: str) -> Event | None:
    dest = _dialled(m, chan)
    return None if dest is None else DialEnded(at, uid, lid, chan, *dest, text(m, "dialstatus"))


_Builder = Callable[[Mapping[str, str], float, str, str, str], DomainEvent | None]

CHANNEL_BUILDERS: dict[str, _Builder] = {
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
    for message in messages:
        name = message.get("Event")
        if not isinstance(name, str) or name.lower() != "coreshowchannel":
            continue
        m = lowered_headers(message)
        uniqueid = text(m, "uniqueid")
        if not uniqueid:
            continue
        snapshots.append(
            ChannelSnapshot(
                uniqueid=uniqueid,
                linkedid=text(m, "linkedid") or uniqueid,
                channel=text(m, "channel"),
                caller_number=caller_id(m, "calleridnum"),
                caller_name=caller_id(m, "calleridname"),
                state=text(m, "channelstatedesc"),
                duration=parse_duration(text(m, "duration")),
                context=text(m, "context"),
                exten=text(m, "exten"),
            )
        )
    return snapshots
