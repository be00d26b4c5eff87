"""The call model: channels (legs) grouped into calls by Asterisk's Linkedid.

A call starts with its first leg and ends when its last leg hangs up. The
first leg is the originating channel (its Uniqueid is the Linkedid); its caller
ID and hangup cause are the call's. For a contact center a call is *answered*
when a queue agent connects (AgentConnect), not when the IVR picks up.

The tracker is fed typed events in stream order and tells listeners about
``started`` / ``updated`` / ``ended`` calls. An ended call is forgotten right
after its ``ended`` update (listeners persist it); its Linkedid is remembered
for a while so that late or repeated events cannot resurrect it.

Listeners are called synchronously with the live ``Call`` object, which later
events keep mutating: a listener that needs the state later must copy it now
(``call.to_dict(now)``). An ``ended`` call is no longer mutated.

The package: call.py has the call and its legs (pure data, and
``waiting_calls``), tracker.py the ``CallTracker``.
"""

from ctiserver.calls.model.call import (
    ANNOUNCEMENT_PREFIX,
    PLACEHOLDER_PREFIX,
    Call,
    CallState,
    Leg,
    is_announcement,
    is_placeholder,
    iso_utc,
    waiting_calls,
)
from ctiserver.calls.model.tracker import (
    LOST_DURING_OUTAGE,
    CallTracker,
    CallUpdate,
    Listener,
    UpdateKind,
)

__all__ = [
    "ANNOUNCEMENT_PREFIX",
    "LOST_DURING_OUTAGE",
    "PLACEHOLDER_PREFIX",
    "Call",
    "CallState",
    "CallTracker",
    "CallUpdate",
    "Leg",
    "Listener",
    "UpdateKind",
    "is_announcement",
    "is_placeholder",
    "iso_utc",
    "waiting_calls",
]
