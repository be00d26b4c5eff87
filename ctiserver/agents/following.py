"""The agent's own desk follows its state: every change the desk shows (ringing, on call,
wrap-up, paused and by whom, ready, logged out, the queues) is pushed to the user sitting at
that phone as ``{"type": "agent", "agent": AGENT}`` (docs/agent-desktop.md), so the badge
and the sign-in buttons never wait for a reload."""

from __future__ import annotations

from typing import Any

from ctiserver.agents.desk import AgentDeskService
from ctiserver.agents.model import AgentUpdate
from ctiserver.agents.seats import AgentSeats, PushToUser


class DeskFollower:
    """The AgentBoard's listener that pushes AGENT to its user; a board update that changes
    nothing the desk shows (a device status) is not pushed again."""

    def __init__(self, desk: AgentDeskService, seats: AgentSeats, push: PushToUser) -> None:
        self._desk = desk
        self._seats = seats
        self._push = push
        #: user id -> the AGENT last pushed to them
        self._pushed: dict[int, dict[str, Any]] = {}

    def __call__(self, update: AgentUpdate) -> None:
        agent = update.agent
        user_id = self._seats.user_at(agent.interface)
        if user_id is None:
            return
        extension = self._seats.extension_at(agent.interface) or agent.extension or ""
        view = self._desk.describe(agent, extension, None)
        if self._pushed.get(user_id) == view:
            return
        self._pushed[user_id] = view
        self._push.to_user(user_id, {"type": "agent", "agent": view})
