"""The agent and its record: states, closed intervals, the device helpers.

Pure data; the ``AgentBoard`` (board.py) moves agents between the states.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ctiserver.calls.model import iso_utc
from ctiserver.telephony.events import DeviceStatus


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


#: a member's device states that are a call going on (its phone in use, held, or in use and rung)
PHONE_IN_USE = frozenset({DeviceStatus.INUSE, DeviceStatus.BUSY, DeviceStatus.ONHOLD, DeviceStatus.RINGINUSE})

#: states without a queue call, which follow from membership and pause flags alone
IDLE = frozenset({AgentState.LOGGED_OUT, AgentState.READY, AgentState.PAUSED})



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
    def phone_busy(self) -> bool:
        """Ready in its queues, but its phone is on a call the queues did not give (a private
        call; with several boxes, on another box: the state that box shares,
        ``hotline.agent_state_interface``). app_queue does not ring it meanwhile."""
        return self.state is AgentState.READY and self.device_status in PHONE_IN_USE

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
