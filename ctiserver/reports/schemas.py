"""The shapes of the call-center reports (figures defined in docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ctiserver.web.schemas import Day, OneOf, QueryString, Seconds, Shape

#: percent, 0..100; null when there is nothing to divide by
Percent = Annotated[float, Field(ge=0, le=100)] | None


class ReportRangeQuery(QueryString):
    """Local days ``from`` to ``to`` (both included; default today), optionally one queue
    and one agent (its queue member interface); ``format=csv`` or ``format=xlsx`` for a spreadsheet."""

    first: Day | None = Field(None, alias="from")
    last: Day | None = Field(None, alias="to")
    queue: str | None = Field(None, max_length=64)
    agent: str | None = Field(None, max_length=64, description="a queue member interface, e.g. PJSIP/1001")
    format: Annotated[str, OneOf(("json", "csv", "xlsx"))] = "json"
    #: a spreadsheet's first row: the columns as the page in ``lang`` names them, or their
    #: codes (the stable form for integrations)
    headers: Annotated[str, OneOf(("labels", "codes"))] = "labels"
    lang: Annotated[str, OneOf(("zh", "en"))] = "zh"


class ReportHead(Shape):
    report: str
    first: Day = Field(alias="from")
    last: Day = Field(alias="to")
    #: the hotline's time zone: days run from its midnight to the next
    timezone: str
    queue: str | None
    agent: str | None


class QueueReportFigures(Shape):
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    unanswered: int
    answered_in_sl: int
    service_level: Percent
    average_answer_seconds: Seconds | None
    average_abandon_seconds: Seconds | None
    longest_answer_wait: Seconds
    longest_wait: Seconds
    completed: int
    average_talk_seconds: Seconds | None
    transfers: int
    callbacks_owed: int
    callbacks_made: int
    callbacks_connected: int


class QueueReportRow(QueueReportFigures):
    name: str


class QueuesReport(ReportHead):
    """QUEUES: per queue, and the total of all."""

    queues: list[QueueReportRow]
    total: QueueReportFigures


class AgentReportRow(Shape):
    #: the queue member interface the statistics know the agent by
    agent: str
    #: the agent's name in the directory (else their extension, else the interface)
    name: str
    extension: str | None
    answered: int
    completed: int
    transfers: int
    talk_seconds: Seconds
    average_handle_seconds: Seconds | None
    ready_seconds: Seconds
    ringing_seconds: Seconds
    on_call_seconds: Seconds
    wrap_up_seconds: Seconds
    paused_seconds: Seconds
    logged_in_seconds: Seconds
    occupancy: Percent
    utilisation: Percent
    callbacks_made: int
    callbacks_connected: int
    #: pause reason ("" when none was given) -> seconds paused
    pause_seconds: dict[str, Seconds]


class AgentsReport(ReportHead):
    agents: list[AgentReportRow]


class AgentChoice(Shape):
    #: the value of the reports' ``agent`` filter
    interface: str
    extension: str
    name: str


class AgentChoices(Shape):
    """The agents of the directory, for the reports' agent filter, by extension."""

    agents: list[AgentChoice]


class HourCell(Shape):
    #: ISO weekday, 1 (Monday) to 7 (Sunday)
    weekday: Annotated[int, Field(ge=1, le=7)]
    hour: Annotated[int, Field(ge=0, le=23)]
    offered: int
    answered: int
    abandoned: int


class HoursReport(ReportHead):
    """HOURS: calls by local hour of day and weekday (168 cells), for a heat map."""

    cells: list[HourCell]


class DayRow(Shape):
    day: Day
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    unanswered: int
    service_level: Percent
    average_answer_seconds: Seconds | None
    longest_wait: Seconds


class DaysReport(ReportHead):
    """DAYS: every day of the range (the trend)."""

    days: list[DayRow]


ReportName = Literal["queues", "agents", "hours", "days"]


class BusinessQuery(QueryString):
    """Local days ``from`` to ``to`` (both included; default today) of the tickets' creation
    (surveys: their answer), optionally a region (the customer's province, city), a product
    model and a department; ``format=csv`` or ``format=xlsx`` for a spreadsheet."""

    first: Day | None = Field(None, alias="from")
    last: Day | None = Field(None, alias="to")
    province: str | None = Field(None, max_length=64)
    city: str | None = Field(None, max_length=64)
    model: str | None = Field(None, max_length=64)
    department: str | None = Field(None, max_length=32)
    format: Annotated[str, OneOf(("json", "csv", "xlsx"))] = "json"
    #: a spreadsheet's first row: the columns as the page in ``lang`` names them, or their
    #: codes (the stable form for integrations)
    headers: Annotated[str, OneOf(("labels", "codes"))] = "labels"
    lang: Annotated[str, OneOf(("zh", "en"))] = "zh"


Cell = str | int | float | None


class BusinessReport(Shape):
    """One table: ``columns`` name the cells of each row (docs/statistics.md, "Business figures")."""

    report: str
    first: Day = Field(alias="from")
    last: Day = Field(alias="to")
    timezone: str
    province: str | None
    city: str | None
    model: str | None
    department: str | None
    columns: list[str]
    rows: list[list[Cell]]
