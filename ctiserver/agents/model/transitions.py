"""The agents' state machine: the transition table and the moves of one agent.

``AgentMachine`` holds the agents and changes their state; ``AgentBoard``
(board.py) decides from each event which change to make. Entering a state
closes the previous one's interval; a pause flag opens and closes pause
intervals; a wrap-up ends when its time is up. What changed while one event
was handled is collected and then told to the listeners in one go (``_flush``).
"""

from __future__ import annotations

import enum
import logging

from ctiserver.agents.model.agent import (
    IDLE,
    Agent,
    AgentState,
    AgentUpdate,
    Interval,
    PauseInterval,
    StateInterval,
    device_of_interface,
)
from ctiserver.listeners import Listeners
from ctiserver.telephony.events import AgentEvent, MemberEvent

logger = logging.getLogger(__name__)


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


class AgentMachine:
    """The agents by interface, and the state changes the ``AgentBoard`` makes."""

    def __init__(self) -> None:
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

    # --- transitions --------------------------------------------------------

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
