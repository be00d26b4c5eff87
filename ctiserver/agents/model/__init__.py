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

The package: agent.py has the agent and its records (pure data),
transitions.py the state machine's moves, board.py what each event means.
"""

from ctiserver.agents.model.agent import (
    IDLE,
    Agent,
    AgentListener,
    AgentState,
    AgentUpdate,
    Interval,
    PauseInterval,
    StateInterval,
    device_of_channel,
    device_of_interface,
)
from ctiserver.agents.model.board import AgentBoard
from ctiserver.agents.model.transitions import TRANSITIONS, AgentMachine, Trigger

__all__ = [
    "IDLE",
    "TRANSITIONS",
    "Agent",
    "AgentBoard",
    "AgentListener",
    "AgentMachine",
    "AgentState",
    "AgentUpdate",
    "Interval",
    "PauseInterval",
    "StateInterval",
    "Trigger",
    "device_of_channel",
    "device_of_interface",
]
