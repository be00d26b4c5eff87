"""``CallTracker``: applies telephony events to the live calls; see ``ctiserver.calls.model``."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ctiserver.calls.model.call import Call, Leg, is_announcement
from ctiserver.listeners import Listeners
from ctiserver.telephony.events import (
    AgentConnected,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)

logger = logging.getLogger(__name__)

LOST_DURING_OUTAGE = "lost during AMI outage"


UpdateKind = Literal["started", "updated", "ended"]


@dataclass(frozen=True)
class CallUpdate:
    kind: UpdateKind
    call: Call


Listener = Callable[[CallUpdate], None]


class CallTracker:
    """Applies domain events to live calls; see the package docstring."""

    def __init__(
        self, clock: Callable[[], float] = time.time, ended_memory_seconds: float = 3600.0
    ) -> None:
        self._clock = clock
        self._memory = ended_memory_seconds
        self._calls: dict[str, Call] = {}
        self._leg_calls: dict[str, Call] = {}
        #: linkedid -> clock() when it ended, oldest first
        self._ended: OrderedDict[str, float] = OrderedDict()
        self._listeners: Listeners[CallUpdate] = Listeners(logger, "call")
        self._handlers: dict[type, Callable[[Any], None]] = {
            ChannelCreated: self._on_created,
            ChannelStateChanged: self._on_state,
            CallerIdChanged: self._on_caller_id,
            ChannelHungUp: self._on_hangup,
            QueueCallerJoined: self._on_queue_joined,
            QueueCallerLeft: self._on_queue_left,
            QueueCallerAbandoned: self._on_queue_left,
            AgentConnected: self._on_agent_connected,
        }

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def active_calls(self) -> list[Call]:
        return list(self._calls.values())

    def get(self, linkedid: str) -> Call | None:
        return self._calls.get(linkedid)

    def handle(self, event: object) -> None:
        """Apply one event; events for unknown legs or ended calls, and the server's own
        announcements to waiting callers (``is_announcement``), are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None and not is_announcement(getattr(event, "linkedid", None)):
            handler(event)

    def resync(self, snapshots: Sequence[ChannelSnapshot], at: float) -> None:
        """Make the live calls match a CoreShowChannels snapshot taken at ``at``.

        Legs missing from the snapshot hung up while we were not listening;
        channels we did not know about are added, started ``duration`` ago.
        """
        alive = {s.uniqueid for s in snapshots}
        changed: dict[str, Call] = {}
        for call in list(self._calls.values()):
            lost = [
                leg for leg in call.legs.values()
                if leg.ended_at is None and leg.uniqueid not in alive
            ]
            for leg in lost:
                self._end_leg(call, leg, at, None, LOST_DURING_OUTAGE)
            if lost and not self._end_if_last_leg(call, at):
                changed[call.linkedid] = call
        self._add_snapshots(snapshots, at, changed)

    def adopt(self, snapshots: Sequence[ChannelSnapshot], at: float) -> None:
        """Add the channels of a CoreShowChannels snapshot taken at ``at`` that are not known,
        ending nothing: a call met in the middle (an edge box's own call, taken while the queue
        box is down: ``ctiserver.telephony.standin``)."""
        self._add_snapshots(snapshots, at, {})

    def _add_snapshots(self, snapshots: Sequence[ChannelSnapshot], at: float, changed: dict[str, Call]) -> None:
        started: dict[str, Call] = {}
        # The originating leg first, then the oldest: the first leg is the caller's.
        for snap in sorted(snapshots, key=lambda s: (s.uniqueid != s.linkedid, -s.duration)):
            if is_announcement(snap.linkedid):
                continue
            known = self._leg_calls.get(snap.uniqueid)
            if known is not None:
                if self._refresh_leg(known, snap):
                    changed[known.linkedid] = known
                continue
            created_at = at - snap.duration
            leg = Leg(
                snap.uniqueid, snap.channel, snap.caller_number, snap.caller_name, snap.state,
                created_at=created_at,
            )
            current = self._calls.get(snap.linkedid)
            if current is None:
                # The snapshot is the truth, even about a call we thought had ended.
                self._ended.pop(snap.linkedid, None)
                new = self._new_call(snap.linkedid, leg)
                started[new.linkedid] = new
            else:
                self._add_leg(current, leg)
                current.started_at = min(current.started_at, created_at)
                changed[current.linkedid] = current
        for call in started.values():
            self._emit("started", call)
        for linkedid, call in changed.items():
            if linkedid not in started:
                self._emit("updated", call)

    def _refresh_leg(self, call: Call, snap: ChannelSnapshot) -> bool:
        leg = call.legs[snap.uniqueid]
        changed = False
        if snap.state and snap.state != leg.state:
            leg.state = snap.state
            changed = True
        if self._set_caller_id(call, leg, snap.caller_number, snap.caller_name):
            changed = True
        return changed

    def _emit(self, kind: UpdateKind, call: Call) -> None:
        if not self._listeners:
            return
        self._listeners.notify(CallUpdate(kind, call), f"{kind} {call.linkedid}")

    def _new_call(self, linkedid: str, leg: Leg) -> Call:
        call = Call(
            linkedid,
            legs={leg.uniqueid: leg},
            caller_number=leg.caller_number,
            caller_name=leg.caller_name,
            started_at=leg.created_at,
        )
        self._calls[linkedid] = call
        self._leg_calls[leg.uniqueid] = call
        return call

    def _add_leg(self, call: Call, leg: Leg) -> None:
        if leg.uniqueid == call.linkedid:
            # The originating channel showed up late: it is still the caller's leg.
            call.legs = {leg.uniqueid: leg, **call.legs}
            call.caller_number = leg.caller_number or call.caller_number
            call.caller_name = leg.caller_name or call.caller_name
        else:
            call.legs[leg.uniqueid] = leg
        self._leg_calls[leg.uniqueid] = call

    def _leg(self, uniqueid: str) -> tuple[Call, Leg] | None:
        call = self._leg_calls.get(uniqueid)
        if call is None:
            return None
        return call, call.legs[uniqueid]

    def _on_created(self, e: ChannelCreated) -> None:
        if e.uniqueid in self._leg_calls:
            return
        if self._ended:
            self._forget_old_endings()
            if e.linkedid in self._ended:
                return
        leg = Leg(
            e.uniqueid, e.channel, e.caller_number, e.caller_name, e.state,
            created_at=e.at, answered_at=e.at if e.state == "Up" else None,
        )
        call = self._calls.get(e.linkedid)
        if call is None:
            self._emit("started", self._new_call(e.linkedid, leg))
        else:
            self._add_leg(call, leg)
            self._emit("updated", call)

    def _on_state(self, e: ChannelStateChanged) -> None:
        found = self._leg(e.uniqueid)
        if found is None:
            return
        call, leg = found
        if leg.ended_at is not None or not e.state or e.state == leg.state:
            return
        leg.state = e.state
        if e.state == "Up" and leg.answered_at is None:
            leg.answered_at = e.at
        self._emit("updated", call)

    def _on_caller_id(self, e: CallerIdChanged) -> None:
        found = self._leg(e.uniqueid)
        if found is not None and self._set_caller_id(*found, e.caller_number, e.caller_name):
            self._emit("updated", found[0])

    def _set_caller_id(self, call: Call, leg: Leg, number: str | None, name: str | None) -> bool:
        """Known values replace; an unknown (None) one never erases a known one."""
        changed = False
        if number is not None and number != leg.caller_number:
            leg.caller_number = number
            changed = True
        if name is not None and name != leg.caller_name:
            leg.caller_name = name
            changed = True
        if changed and leg is call.caller_leg:
            call.caller_number = leg.caller_number
            call.caller_name = leg.caller_name
        return changed

    def _on_hangup(self, e: ChannelHungUp) -> None:
        found = self._leg(e.uniqueid)
        if found is None or found[1].ended_at is not None:
            return
        call, leg = found
        self._end_leg(call, leg, e.at, e.cause, e.cause_text)
        if not self._end_if_last_leg(call, e.at):
            self._emit("updated", call)

    def _end_leg(
        self, call: Call, leg: Leg, at: float, cause: int | None, text: str | None
    ) -> None:
        leg.ended_at = at
        leg.hangup_cause = cause
        leg.hangup_cause_text = text
        if leg is call.caller_leg:
            call.hangup_cause = cause
            call.hangup_cause_text = text

    def _end_if_last_leg(self, call: Call, at: float) -> bool:
        """End the call if none of its legs is left; True if it ended."""
        if any(leg.ended_at is None for leg in call.legs.values()):
            return False
        call.ended_at = at
        del self._calls[call.linkedid]
        for uniqueid in call.legs:
            self._leg_calls.pop(uniqueid, None)
        self._ended[call.linkedid] = self._clock()
        self._ended.move_to_end(call.linkedid)
        self._emit("ended", call)
        return True

    def _forget_old_endings(self) -> None:
        horizon = self._clock() - self._memory
        while self._ended and next(iter(self._ended.values())) < horizon:
            self._ended.popitem(last=False)

    def _queued_call(self, uniqueid: str, linkedid: str) -> Call | None:
        call = self._leg_calls.get(uniqueid)
        return call if call is not None else self._calls.get(linkedid)

    def _on_queue_joined(self, e: QueueCallerJoined) -> None:
        call = self._queued_call(e.uniqueid, e.linkedid)
        if call is None:
            return
        call.queue = e.queue or call.queue
        if call.queue_joined_at is None:
            call.queue_joined_at = e.at
        if call.answered_at is None:
            # Moved on to another queue: still waiting for a human.
            call.queue_left_at = None
        self._emit("updated", call)

    def _on_queue_left(self, e: QueueCallerLeft | QueueCallerAbandoned) -> None:
        call = self._queued_call(e.uniqueid, e.linkedid)
        if call is None or call.queue_left_at is not None:
            return
        call.queue_left_at = e.at
        self._emit("updated", call)

    def _on_agent_connected(self, e: AgentConnected) -> None:
        call = self._queued_call(e.uniqueid, e.linkedid)
        if call is None:
            return
        if call.answered_at is None:
            call.answered_at = e.at
        call.agent = e.member_name or e.interface or call.agent
        if e.queue:
            call.queue = e.queue
        self._emit("updated", call)
