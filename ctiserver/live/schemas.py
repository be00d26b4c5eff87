"""The shapes of the supervisor's views: the live wallboard and a day's report
(figures defined in docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ctiserver.agents.model import AgentState
from ctiserver.calls import LiveCallView
from ctiserver.web.schemas import Day, Moment, QueryString, Seconds, Shape

#: answered within the service level over the counted calls, 0..1; null without calls
ServiceLevel = Annotated[float, Field(ge=0, le=1)] | None


class WallboardQueue(Shape):
    name: str
    waiting: int
    longest_wait: Seconds
    offered: int
    answered: int
    abandoned: int
    answered_within_sl: int
    service_level: ServiceLevel


class WallboardAgent(Shape):
    extension: str
    name: str
    interface: str
    #: "busy": ready in its queues, its phone on a call they did not give (a private call,
    #: maybe on another box): not rung by the queues meanwhile
    state: AgentState | Literal["busy"]
    since: Moment | None
    seconds_in_state: Seconds
    reason: str | None
    queues: list[str]


class WaitingCall(Shape):
    call_id: str
    caller_number: str | None
    caller_name: str | None
    queue: str | None
    waiting_seconds: Seconds


class WallboardView(Shape):
    """WALLBOARD: today's figures, the agents, who waits, the calls going on."""

    at: Moment
    queues: list[WallboardQueue]
    agents: list[WallboardAgent]
    waiting_calls: list[WaitingCall]
    recent_calls: list[LiveCallView]


class WallboardMessage(Shape):
    """Websocket, to supervisors and admins: at most once a second while anything changes."""

    type: Literal["wallboard"]
    wallboard: WallboardView


class ReportQueue(Shape):
    name: str
    offered: int
    answered: int
    abandoned: int
    unanswered: int
    answered_within_sl: int
    service_level: ServiceLevel
    average_answer_seconds: Seconds | None
    longest_answer_wait: Seconds
    average_abandon_seconds: Seconds | None


class ReportAgent(Shape):
    answered: int
    #: agent state -> seconds in it
    state_seconds: dict[AgentState, Seconds]
    #: pause reason ("" when none was given) -> seconds paused
    pause_seconds: dict[str, Seconds]


class DailyReport(Shape):
    """A day's figures from the stored statistics records (the live view's definitions)."""

    date: Day
    #: the hotline's time zone: the day runs from its midnight to the next
    timezone: str
    queues: list[ReportQueue]
    #: by interface
    agents: dict[str, ReportAgent]


class ReportQuery(QueryString):
    """``date`` YYYY-MM-DD; default: today in the hotline's time zone."""

    date: Day | None = None
