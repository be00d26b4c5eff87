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

from collections.abc import Mapping

from ctiserver.telephony.ami.message import lowered_headers
from ctiserver.telephony.ami.translate.channels import (
    CHANNEL_BUILDERS,
    channel_snapshots,
    parse_duration,
)
from ctiserver.telephony.ami.translate.fields import text, timestamp
from ctiserver.telephony.ami.translate.members import MEMBER_BUILDERS, queue_status_items
from ctiserver.telephony.events import DomainEvent

__all__ = ["channel_snapshots", "parse_duration", "queue_status_items", "to_event"]


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
    if not uniqueid:
        return None
    # A channel is its own linkedid until Asterisk says otherwise.
    linkedid = text(m, "linkedid") or uniqueid
    return builder(m, timestamp(m, received_at), uniqueid, linkedid, text(m, "channel"))
