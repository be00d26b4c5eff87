"""``AgentBoard``: what each queue event, dial and QueueStatus listing means for the agents.

The state machine it drives is in transitions.py; the package docstring
(``ctiserver.agents.model``) describes the states and why events are read so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ctiserver.agents.model.agent import (
    IDLE,
    Agent,
    AgentListener,
    AgentState,
    device_of_channel,
)
from ctiserver.agents.model.transitions import TRANSITIONS, AgentMachine, Trigger
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
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

_NOT_PAUSED = object()


class AgentBoard(AgentMachine):
    """All agents; see the package docstring.

    ``wrapup_seconds`` maps a queue to its queues.conf ``wrapuptime`` (AMI does
    not report it); queues not in it use ``default_wrapup_seconds``.
    """

    def __init__(
        self,
        wrapup_seconds: Mapping[str, float] | None = None,
        default_wrapup_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._wrapup = dict(wrapup_seconds or {})
        self._default_wrapup = default_wrapup_seconds
        self._clock = clock
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
