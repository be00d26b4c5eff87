"""The shapes of the agent's own desk: AGENT of docs/agent-desktop.md and its actions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ctiserver import vocabulary
from ctiserver.agents.model import AgentState
from ctiserver.web.schemas import Moment, OneOf, RequestBody, Shape, UserView

QueueName = Annotated[str, StringConstraints(min_length=1)]
PauseReason = Annotated[str, OneOf(vocabulary.PAUSE_REASONS)]


class AgentView(Shape):
    """AGENT: the logged-in user's agent as the queues see it."""

    extension: str
    name: str
    #: e.g. PJSIP/1001
    interface: str
    state: AgentState
    #: when the agent entered that state; null before it was seen
    since: Moment | None
    #: the pause reason (as given, also from the phone) or null
    reason: str | None
    #: while paused by a supervisor (not by the agent or their phone): that supervisor's name
    paused_by: str | None
    queues: list[str]
    #: the Linkedid of the agent's call
    call_id: str | None


class AgentAnswer(Shape):
    agent: AgentView


class AgentMessage(Shape):
    """Websocket: the user's own agent changed."""

    type: Literal["agent"]
    agent: AgentView


class QueueLogin(RequestBody):
    """``POST /api/agent/login``; no queues: the agent's skills, else every queue."""

    queues: Annotated[list[QueueName], Field(min_length=1)] | None = None


class PauseRequest(RequestBody):
    reason: PauseReason


class TransferRequest(RequestBody):
    """The agent's caller goes to the agent at that extension: at once (blind), or once the
    agent has spoken to them and hangs up (attended)."""

    extension: Annotated[str, StringConstraints(min_length=1)]
    attended: bool = False


class HelloMessage(Shape):
    """Websocket: the first message, the user and their agent (null without one)."""

    type: Literal["hello"]
    user: UserView
    agent: AgentView | None
