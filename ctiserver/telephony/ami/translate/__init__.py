"""AMI event messages -> typed domain events.

Only what the call, agent and queue models need is translated; every other
event gives ``None``. Nothing here raises on a malformed message: a channel
event without a Uniqueid, or a queue member event without a Queue or an
Interface, gives ``None``; other missing, repeated (list-valued) or non-numeric
fields become ``None`` or ``''`` (best effort). Most of the stream (VarSet,
Newexten, ...) is discarded after a single dictionary lookup, which keeps this
cheap.

The package: fields.py reads header values, channels.py translates the
events that name a channel (and CoreShowChannels), members.py the queue
member and queue events (and QueueStatus).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ctiserver.telephony.ami.message import lowered_headers
from ctiserver.telephony.ami.translate.channels import (
    CHANNEL_BUILDERS,
    channel_snapshots,
    parse_duration,
)
from ctiserver.telephony.ami.translate.fields import text, timestamp
from ctiserver.telephony.ami.translate.members import MEMBER_BUILDERS, queue_status_items
from ctiserver.telephony.events import AgentCompleted, AgentConnected, DomainEvent

#: the agent events app_queue may send once the caller's channel is gone, without its fields
#: (and the member's too when that leg went as fast): AgentComplete of a caller who hung up first
CALLER_GONE_BUILDERS = frozenset({"agentcomplete"})

__all__ = ["MemberCalls", "channel_snapshots", "parse_duration", "queue_status_items", "to_event"]


def to_event(message: Mapping[str, str], received_at: float) -> DomainEvent | None:
    """The domain event for one AMI event message, or None if not of interest.

    Only the name is read of an event nobody translates (most of the stream): an
    ``AmiMessage`` then stays unparsed. The builders read headers by lower-cased name
    from a plain dict (``lowered_headers``), as case-insensitively as panoramisk does.
    """
    name = message.get("Event")
    if not isinstance(name, str):
        return None
    name = name.lower()
    builder = CHANNEL_BUILDERS.get(name)
    if builder is None:
        queue_builder = MEMBER_BUILDERS.get(name)
        if queue_builder is None:
            return None
        m = lowered_headers(message)
        return queue_builder(m, timestamp(m, received_at))
    m = lowered_headers(message)
    uniqueid = text(m, "uniqueid")
    if not uniqueid and name in CALLER_GONE_BUILDERS and text(m, "interface"):
        # the caller's channel was gone before app_queue said so (a caller hung up from
        # outside the dialplan, a SIP BYE): its fields are missing, the member's may remain
        # (MemberCalls puts the call back)
        return builder(m, timestamp(m, received_at), "", text(m, "destlinkedid"), "")
    if not uniqueid:
        return None
    # A channel is its own linkedid until Asterisk says otherwise.
    linkedid = text(m, "linkedid") or uniqueid
    return builder(m, timestamp(m, received_at), uniqueid, linkedid, text(m, "channel"))


class MemberCalls:
    """:func:`to_event` for the live stream, remembering the call each queue member took
    (AgentConnect): an AgentComplete sent once the caller's channel was gone, without the
    caller's fields, is made that call's again (its Uniqueid, Linkedid and channel), so that
    the agent wraps up at once and the statistics count its talk time."""

    def __init__(self) -> None:
        self._taken: dict[str, AgentConnected] = {}

    def __call__(self, message: Mapping[str, str], received_at: float) -> DomainEvent | None:
        event = to_event(message, received_at)
        if isinstance(event, AgentConnected):
            self._taken[event.interface] = event
        elif isinstance(event, AgentCompleted):
            taken = self._taken.pop(event.interface, None)
            if not event.uniqueid and taken is not None and event.linkedid in ("", taken.linkedid):
                event = dataclasses.replace(event, uniqueid=taken.uniqueid, linkedid=taken.linkedid,
                                            channel=taken.channel)
        return event
