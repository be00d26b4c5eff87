"""Agents: one state machine per queue member interface, driven by app_queue events.

An agent is keyed by its member interface (``Local/1001@agents``,
``PJSIP/1001``); it is the same agent in every queue it belongs to. Its state:

- LOGGED_OUT: a member of no queue;
- READY / PAUSED: idle, paused when paused in *every* queue it belongs to
  (then app_queue offers it no call);
- RINGING -> ON_CALL -> WRAP_UP: a queue call, from AgentCalled through
  AgentConnect to AgentComplete; wrap-up lasts the member's Wrapuptime if
  set, else the queue's (``wrapup_seconds``), and ends at completion time +
  wrap-up, by ``tick(now)`` or lazily at the agent's next event.

A call can also reach an agent's phone without the queue: transferred to them by
another agent, or dialled straight. Asterisk shows it as a dial (DialBegin) to a
channel of the agent's device; the agent then goes RINGING, ON_CALL when the dial
is answered, and WRAP_UP (the default wrap-up) when that channel hangs up. app_queue
reports its own rings too as dials, just after their AgentCalled: those are the
queue's, not direct.

Pausing is a flag, not only a state: an agent who pauses during a call stays
ON_CALL and goes PAUSED, not READY, after the call. Each pause, from pause to
unpause, is a ``PauseInterval`` (a new reason closes the old interval).

Asterisk is the truth. An event that is impossible in the current state (an
AgentConnect without AgentCalled, a call offered to a paused agent, ...) is
logged and the state is corrected from the event; nothing here raises. Call
events about another call than the agent's current one (a late AgentComplete
of a previous call) are stale and ignored. The device status of QueueMemberStatus
is kept beside the state but does not end calls: Asterisk 22 reports the idle
device just before the call's AgentComplete (see the recorded stream). Only a
resynchronisation, which follows an outage, trusts it for that.

Listeners get an ``AgentUpdate`` per changed agent and handled event, with the
intervals the event closed: the statistics log is built from them. There are
no timers here: the owner calls ``tick`` (e.g. every second).
"""

from __future__ import annotations

import enum
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ctiserver.calls.model import iso_utc
from ctiserver.listeners import Listeners
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
    AgentEvent,
    AgentRingNoAnswer,
    ChannelHungUp,
    DeviceStatus,
    DialEnded,
    DialStarted,
    MemberEvent,
    QueueCallerAbandoned,
    QueueMemberListed,
    QueueMemberRemoved,
    QueueParamsListed,
)

logger = logging.getLogger(__name__)


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


#: states without a queue call, which follow from membership and pause flags alone
IDLE = frozenset({AgentState.LOGGED_OUT, AgentState.READY, AgentState.PAUSED})


class Trigger(enum.StrEnum):
    RING = "AgentCalled"
    CONNECT = "AgentConnect"
    NO_ANSWER = "AgentRingNoAnswer"
    DUMP = "AgentDump"
    COMPLETE = "AgentComplete"
    WRAPUP_END = "wrap-up end"


#: per call trigger: the states it is expected in, and the state it leads to
#: (None: the idle state the agent's membership and pause flags give)
TRANSITIONS: dict[Trigger, tuple[frozenset[AgentState], AgentState | None]] = {
    Trigger.RING: (frozenset({AgentState.READY}), AgentState.RINGING),
    Trigger.CONNECT: (frozenset({AgentState.RINGING}), AgentState.ON_CALL),
    Trigger.NO_ANSWER: (frozenset({AgentState.RINGING}), None),
    Trigger.DUMP: (frozenset({AgentState.RINGING, AgentState.ON_CALL}), None),
    Trigger.COMPLETE: (frozenset({AgentState.ON_CALL}), AgentState.WRAP_UP),
    Trigger.WRAPUP_END: (frozenset({AgentState.WRAP_UP}), None),
}


@dataclass(frozen=True, slots=True)
class StateInterval:
    """A closed stretch of one agent state; also a statistics record."""

    kind: ClassVar[str] = "agent_state"
    interface: str
    state: AgentState
    start: float
    end: float
    #: the pause reason of a PAUSED interval
    reason: str | None = None

    @property
    def at(self) -> float:
        return self.end


@dataclass(frozen=True, slots=True)
class PauseInterval:
    """A closed pause, from pause to unpause; also a statistics record."""

    kind: ClassVar[str] = "pause"
    interface: str
    reason: str | None
    start: float
    end: float

    @property
    def at(self) -> float:
        return self.end


Interval = StateInterval | PauseInterval

_NOT_PAUSED = object()

_EXTENSION = re.compile(r"^[^/]+/([^@/;]+)")
#: a channel's name is its device's and a sequence number: Local/1001@agents-0000002a;1, PJSIP/1001-0000000c
_CHANNEL_DEVICE = re.compile(r"^(Local/[^;]+)-[0-9a-f]+;[12]$|^(?!Local/)(.+)-[0-9a-f]+$")


def device_of_interface(interface: str) -> str:
    """The device a member interface dials: ``Local/1001@agents/n`` -> ``Local/1001@agents``."""
    if interface.startswith("Local/") and "@" in interface:
        head, _, tail = interface.partition("@")
        return f"{head}@{tail.split('/', 1)[0]}"
    return interface


def device_of_channel(channel: str) -> str | None:
    found = _CHANNEL_DEVICE.match(channel)
    return (found.group(1) or found.group(2)) if found else None


@dataclass(eq=False, slots=True)
class Agent:
    interface: str
    name: str | None = None
    state: AgentState = AgentState.LOGGED_OUT
    state_since: float = 0.0
    #: the pause reason while PAUSED
    state_reason: str | None = None
    queues: set[str] = field(default_factory=set)
    #: queue -> pause reason, the latest pause last
    paused_in: dict[str, str | None] = field(default_factory=dict)
    #: the open pause, if any
    pause_started: float | None = None
    pause_reason: str | None = None
    #: the latest closed pauses (the statistics log keeps them all)
    pauses: deque[PauseInterval] = field(default_factory=lambda: deque(maxlen=100))
    #: the queue call while RINGING, ON_CALL or WRAP_UP (None if unknown)
    linkedid: str | None = None
    caller_uniqueid: str | None = None
    call_queue: str | None = None
    wrapup_until: float | None = None
    device_status: DeviceStatus | None = None
    in_call: bool = False
    #: queue -> the member's own Wrapuptime
    member_wrapup: dict[str, int] = field(default_factory=dict)
    #: the agent's own channel in the current call (the one rung), when known
    channel: str | None = None
    channel_uniqueid: str | None = None
    #: the current call reached the agent without the queue (a transfer, a direct call)
    direct: bool = False

    @property
    def extension(self) -> str | None:
        found = _EXTENSION.match(self.interface)
        return found.group(1) if found else None

    @property
    def paused(self) -> bool:
        return bool(self.queues) and all(q in self.paused_in for q in self.queues)

    def idle_state(self) -> AgentState:
        if not self.queues:
            return AgentState.LOGGED_OUT
        return AgentState.PAUSED if self.paused else AgentState.READY

    def state_seconds(self, now: float) -> float:
        return max(now - self.state_since, 0.0)

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "interface": self.interface,
            "extension": self.extension,
            "name": self.name,
            "state": self.state.value,
            "state_since": iso_utc(self.state_since),
            "state_seconds": round(self.state_seconds(now), 3),
            "pause_reason": self.state_reason,
            "paused": self.paused,
            "queues": sorted(self.queues),
            "call": self.linkedid,
            "call_queue": self.call_queue,
            "direct": self.direct,
            "wrapup_until": iso_utc(self.wrapup_until),
            "device_status": (
                self.device_status.name.lower() if self.device_status is not None else None
            ),
        }


@dataclass(frozen=True)
class AgentUpdate:
    agent: Agent
    #: the intervals the event closed, oldest first
    closed: tuple[Interval, ...] = ()


AgentListener = Callable[[AgentUpdate], None]


class AgentBoard:
    """All agents; see the module docstring.

    ``wrapup_seconds`` maps a queue to its queues.conf ``wrapuptime`` (AMI does
    not report it); queues not in it use ``default_wrapup_seconds``.
    """

    def __init__(
        self,
        wrapup_seconds: Mapping[str, float] | None = None,
        default_wrapup_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._wrapup = dict(wrapup_seconds or {})
        self._default_wrapup = default_wrapup_seconds
        self._clock = clock
        self._agents: dict[str, Agent] = {}
        #: caller Uniqueid -> interfaces ringing for that caller
        self._ringing: dict[str, set[str]] = {}
        #: device (see device_of_interface) -> the agent's interface
        self._by_device: dict[str, str] = {}
        #: Uniqueid of an agent's channel in a direct call -> the agent's interface
        self._direct_legs: dict[str, str] = {}
        self._listeners: Listeners[AgentUpdate] = Listeners(logger, "agent")
        #: agents changed by the event being handled -> the intervals it closed
        self._changed: dict[str, list[Interval]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            AgentCalled: self._on_called,
            AgentConnected: self._on_connected,
            AgentRingNoAnswer: self._on_ring_ended,
            AgentDumped: self._on_ring_ended,
            AgentCompleted: self._on_completed,
            QueueMemberRemoved: self._on_removed,
            QueueCallerAbandoned: self._on_caller_gone,
            ChannelHungUp: self._on_hung_up,
            DialStarted: self._on_dial_started,
            DialEnded: self._on_dial_ended,
        }

    def subscribe(self, listener: AgentListener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def enroll(self, interface: str, name: str | None = None) -> None:
        """An agent of the directory, known before any queue event names them: a call
        transferred to their phone reaches them even while logged out of every queue."""
        self._agent(interface, name, self._clock())
        self._flush()

    def get(self, interface: str) -> Agent | None:
        return self._agents.get(interface)

    def can_take(self, queue: str) -> bool:
        """Whether some agent of ``queue`` is logged in to it and not paused there."""
        return any(queue in a.queues and queue not in a.paused_in for a in self._agents.values())

    def all(self) -> list[Agent]:
        return list(self._agents.values())

    def handle(self, event: object) -> None:
        handler = self._handlers.get(type(event))
        if handler is None and isinstance(event, MemberEvent):
            handler = self._on_member
        if handler is not None:
            handler(event)
            self._flush()

    def tick(self, now: float | None = None) -> None:
        """End the wrap-ups due by ``now``, at the time each was due."""
        now = self._clock() if now is None else now
        for agent in self._agents.values():
            self._expire_wrapup(agent, now)
        self._flush()

    def resync(self, items: Sequence[QueueMemberListed | QueueParamsListed], at: float) -> None:
        """Make the agents match a QueueStatus listing taken at ``at``.

        Membership and pauses are the listing's. An agent listed nowhere is
        logged out; one whose device is idle and not in a queue call is no
        longer ringing or talking; one the listing says is in a queue call is
        ON_CALL (with an unknown call).
        """
        listed: dict[str, list[QueueMemberListed]] = {}
        for item in items:
            if isinstance(item, QueueMemberListed):
                listed.setdefault(item.interface, []).append(item)
        for agent in self._agents.values():
            if agent.interface not in listed and agent.state != AgentState.LOGGED_OUT:
                agent.queues.clear()
                agent.paused_in.clear()
                self._enter(agent, AgentState.LOGGED_OUT, at)
                self._sync_pause(agent, at)
        for interface, members in listed.items():
            agent = self._agent(interface, members[0].member_name, at)
            self._expire_wrapup(agent, at)
            agent.queues = {m.queue for m in members}
            agent.paused_in = {m.queue: m.paused_reason for m in members if m.paused}
            pause_starts = [m.last_pause for m in members if m.paused and m.last_pause]
            for m in members:
                self._take_member_fields(agent, m)
            in_call = any(m.in_call for m in members)
            if agent.state not in IDLE and agent.state != AgentState.WRAP_UP:
                if not in_call and agent.device_status == DeviceStatus.NOT_INUSE:
                    self._enter(agent, agent.idle_state(), at)
            elif in_call and agent.state in IDLE:
                self._enter(agent, AgentState.ON_CALL, at)
            self._touch(agent)
            # Paused in every queue since the last of those pauses.
            self._settle(agent, at, max(pause_starts, default=at))
        self._flush()

    # --- events -------------------------------------------------------------

    def _on_member(self, e: MemberEvent) -> None:
        """Added, pause and status events: the member's flags, as Asterisk has them."""
        agent = self._agent(e.interface, e.member_name, e.at)
        self._expire_wrapup(agent, e.at)
        if e.queue not in agent.queues:
            agent.queues.add(e.queue)
            self._touch(agent)
        if e.paused is True and agent.paused_in.get(e.queue, _NOT_PAUSED) != e.paused_reason:
            agent.paused_in.pop(e.queue, None)
            agent.paused_in[e.queue] = e.paused_reason
            self._touch(agent)
        elif e.paused is False and agent.paused_in.pop(e.queue, _NOT_PAUSED) is not _NOT_PAUSED:
            self._touch(agent)
        # The device status is not a call state: the recording shows an idle
        # device reported just before the AgentComplete of the call.
        self._take_member_fields(agent, e)
        self._settle(agent, e.at)

    def _on_removed(self, e: QueueMemberRemoved) -> None:
        agent = self._agents.get(e.interface)
        if agent is None:
            return
        self._expire_wrapup(agent, e.at)
        agent.queues.discard(e.queue)
        agent.paused_in.pop(e.queue, None)
        agent.member_wrapup.pop(e.queue, None)
        self._touch(agent)
        # Removed during a call: logged out once the call is over.
        self._settle(agent, e.at)

    def _on_called(self, e: AgentCalled) -> None:
        agent, fresh = self._call_agent(e)
        if agent.state == AgentState.ON_CALL and agent.linkedid not in (None, e.linkedid):
            logger.info("agent %s: offered %s while on call %s", e.interface, e.linkedid,
                        agent.linkedid)
            return
        self._transition(agent, Trigger.RING, e, fresh)

    def _on_connected(self, e: AgentConnected) -> None:
        agent, fresh = self._call_agent(e)
        if agent.state != AgentState.ON_CALL or agent.linkedid != e.linkedid:
            self._transition(agent, Trigger.CONNECT, e, fresh)
        # Other members rung for this caller (ringall) ring no more.
        for other in list(self._ringing.get(e.uniqueid, ())):
            if other != agent.interface:
                ringing = self._agents[other]
                self._enter(ringing, ringing.idle_state(), e.at)

    def _on_ring_ended(self, e: AgentRingNoAnswer | AgentDumped) -> None:
        agent = self._agents.get(e.interface)
        if agent is None:
            return
        self._expire_wrapup(agent, e.at)
        trigger = Trigger.DUMP if isinstance(e, AgentDumped) else Trigger.NO_ANSWER
        if agent.state in TRANSITIONS[trigger][0] and agent.linkedid in (None, e.linkedid):
            self._transition(agent, trigger, e, fresh=False)
        else:
            logger.debug("agent %s: %s for %s ignored while %s", e.interface, trigger,
                         e.linkedid, agent.state)

    def _on_completed(self, e: AgentCompleted) -> None:
        agent = self._agents.get(e.interface)
        fresh = agent is None
        agent = self._agent(e.interface, e.member_name, e.at)
        self._expire_wrapup(agent, e.at)
        same_call = agent.linkedid in (None, e.linkedid)
        stale = (
            (agent.state in (AgentState.ON_CALL, AgentState.RINGING) and not same_call)
            or (agent.state == AgentState.WRAP_UP and agent.linkedid == e.linkedid)
        )
        if stale:
            logger.debug("agent %s: AgentComplete of %s ignored while %s with %s",
                         e.interface, e.linkedid, agent.state, agent.linkedid)
            return
        self._transition(agent, Trigger.COMPLETE, e, fresh)
        seconds = agent.member_wrapup.get(e.queue) or self._wrapup.get(
            e.queue, self._default_wrapup
        )
        self._wrap_up_for(agent, seconds, e.at)

    def _on_caller_gone(self, e: QueueCallerAbandoned | ChannelHungUp) -> None:
        for interface in list(self._ringing.get(e.uniqueid, ())):
            agent = self._agents[interface]
            self._enter(agent, agent.idle_state(), e.at)

    def _on_hung_up(self, e: ChannelHungUp) -> None:
        self._on_caller_gone(e)
        interface = self._direct_legs.get(e.uniqueid)
        if interface is None:
            return
        agent = self._agents[interface]
        if agent.state == AgentState.ON_CALL:
            self._enter(agent, AgentState.WRAP_UP, e.at)
            self._wrap_up_for(agent, self._default_wrapup, e.at)
        elif agent.state == AgentState.RINGING:
            self._enter(agent, agent.idle_state(), e.at)

    # --- direct calls (transfers) -------------------------------------------

    def _on_dial_started(self, e: DialStarted) -> None:
        agent = self._agent_at(e.dest_channel)
        if agent is None:
            return
        self._expire_wrapup(agent, e.at)
        if agent.linkedid == e.linkedid and agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            return  # app_queue's own ring, announced by AgentCalled
        if agent.state not in IDLE and agent.state != AgentState.WRAP_UP:
            logger.info("agent %s: dialled for %s while %s with %s; kept on that call",
                        agent.interface, e.linkedid, agent.state, agent.linkedid)
            return
        if agent.state == AgentState.WRAP_UP:
            self._enter(agent, agent.idle_state(), e.at)
        agent.linkedid, agent.caller_uniqueid, agent.call_queue = e.linkedid, e.uniqueid, None
        agent.channel, agent.channel_uniqueid, agent.direct = e.dest_channel, e.dest_uniqueid, True
        self._direct_legs[e.dest_uniqueid] = agent.interface
        self._enter(agent, AgentState.RINGING, e.at)

    def _on_dial_ended(self, e: DialEnded) -> None:
        interface = self._direct_legs.get(e.dest_uniqueid)
        if interface is None:
            return
        agent = self._agents[interface]
        if agent.state != AgentState.RINGING:
            return
        if e.status == "ANSWER":
            self._enter(agent, AgentState.ON_CALL, e.at)
        else:
            self._enter(agent, agent.idle_state(), e.at)

    def _agent_at(self, channel: str) -> Agent | None:
        device = device_of_channel(channel)
        interface = self._by_device.get(device) if device is not None else None
        return self._agents.get(interface) if interface is not None else None

    # --- transitions --------------------------------------------------------

    def _call_agent(self, e: AgentCalled | AgentConnected) -> tuple[Agent, bool]:
        """The agent Asterisk offers a call to: a member of that queue, not paused in it."""
        fresh = e.interface not in self._agents
        agent = self._agent(e.interface, e.member_name, e.at)
        self._expire_wrapup(agent, e.at)
        if e.queue and e.queue not in agent.queues:
            if not fresh:
                logger.warning("agent %s: offered a call of %s, not a member of it",
                               e.interface, e.queue)
            agent.queues.add(e.queue)
        if agent.paused_in.pop(e.queue, _NOT_PAUSED) is not _NOT_PAUSED:
            logger.warning("agent %s: offered a call of %s while paused in it",
                           e.interface, e.queue)
            self._sync_pause(agent, e.at)
        return agent, fresh

    def _transition(self, agent: Agent, trigger: Trigger, e: AgentEvent, fresh: bool) -> None:
        expected, target = TRANSITIONS[trigger]
        if agent.state not in expected and not fresh:
            logger.warning("agent %s: %s for %s while %s; corrected from the event",
                           agent.interface, trigger, e.linkedid, agent.state)
        if target is None:
            self._enter(agent, agent.idle_state(), e.at)
            return
        if target == AgentState.RINGING or agent.linkedid != e.linkedid:
            agent.linkedid, agent.caller_uniqueid = e.linkedid, e.uniqueid
            agent.call_queue = e.queue or agent.call_queue
            agent.channel, agent.channel_uniqueid = e.dest_channel, e.dest_uniqueid
        self._enter(agent, target, e.at)

    def _wrap_up_for(self, agent: Agent, seconds: float, now: float) -> None:
        """The agent just entered WRAP_UP: it lasts ``seconds`` (over already if ``now`` is past)."""
        agent.wrapup_until = agent.state_since + max(seconds, 0.0)
        self._expire_wrapup(agent, now)

    def _expire_wrapup(self, agent: Agent, now: float) -> None:
        if (
            agent.state == AgentState.WRAP_UP
            and agent.wrapup_until is not None
            and agent.wrapup_until <= now
        ):
            self._enter(agent, agent.idle_state(), agent.wrapup_until)

    def _settle(self, agent: Agent, at: float, pause_start: float | None = None) -> None:
        """After a membership or pause change: the pause interval, and the idle state."""
        self._sync_pause(agent, at, pause_start)
        target = agent.idle_state()
        if agent.state in IDLE and (
            target != agent.state or agent.state_reason != agent.pause_reason
        ):
            self._enter(agent, target, at)

    def _sync_pause(self, agent: Agent, at: float, start: float | None = None) -> None:
        reason = next(reversed(agent.paused_in.values()), None) if agent.paused else None
        if agent.pause_started is not None and (not agent.paused or reason != agent.pause_reason):
            end = max(at, agent.pause_started)
            closed = PauseInterval(agent.interface, agent.pause_reason, agent.pause_started, end)
            agent.pauses.append(closed)
            self._close(agent, closed)
            agent.pause_started = agent.pause_reason = None
        if agent.paused and agent.pause_started is None:
            agent.pause_started = at if start is None else min(start, at)
            agent.pause_reason = reason
            self._touch(agent)

    def _enter(self, agent: Agent, state: AgentState, at: float) -> None:
        at = max(at, agent.state_since)
        if agent.state == AgentState.RINGING and agent.caller_uniqueid is not None:
            ringing = self._ringing.get(agent.caller_uniqueid, set())
            ringing.discard(agent.interface)
            if not ringing:
                self._ringing.pop(agent.caller_uniqueid, None)
        self._close(
            agent,
            StateInterval(agent.interface, agent.state, agent.state_since, at, agent.state_reason),
        )
        agent.state, agent.state_since = state, at
        agent.state_reason = agent.pause_reason if state == AgentState.PAUSED else None
        if state != AgentState.WRAP_UP:
            agent.wrapup_until = None
        if state in IDLE:
            agent.linkedid = agent.caller_uniqueid = agent.call_queue = None
            if agent.direct and agent.channel_uniqueid is not None:
                self._direct_legs.pop(agent.channel_uniqueid, None)
            agent.channel = agent.channel_uniqueid = None
            agent.direct = False
        elif state == AgentState.RINGING and agent.caller_uniqueid is not None:
            self._ringing.setdefault(agent.caller_uniqueid, set()).add(agent.interface)
        self._touch(agent)

    # --- bookkeeping --------------------------------------------------------

    def _agent(self, interface: str, name: str | None, at: float) -> Agent:
        agent = self._agents.get(interface)
        if agent is None:
            agent = self._agents[interface] = Agent(interface, name, state_since=at)
            self._by_device[device_of_interface(interface)] = interface
            self._touch(agent)
        elif name and name != agent.name:
            agent.name = name
            self._touch(agent)
        return agent

    def _take_member_fields(self, agent: Agent, e: MemberEvent) -> None:
        if e.wrapup_seconds is not None:
            agent.member_wrapup[e.queue] = e.wrapup_seconds
        if e.status is not None and e.status != agent.device_status:
            agent.device_status = e.status
            self._touch(agent)
        if e.in_call is not None and e.in_call != agent.in_call:
            agent.in_call = e.in_call
            self._touch(agent)

    def _touch(self, agent: Agent) -> None:
        self._changed.setdefault(agent.interface, [])

    def _close(self, agent: Agent, interval: Interval) -> None:
        """Report a closed interval; an empty one (no time passed) is not worth one."""
        if interval.end > interval.start:
            self._changed.setdefault(agent.interface, []).append(interval)

    def _flush(self) -> None:
        changed, self._changed = self._changed, {}
        if not self._listeners:
            return
        for interface, closed in changed.items():
            self._listeners.notify(AgentUpdate(self._agents[interface], tuple(closed)), interface)
