"""The shapes of calls: LIVE_CALL (the live tracker), CALL_RECORD (an ended call as stored),
and ``GET /api/calls``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ctiserver.web.schemas import Moment, QueryString, Seconds, Shape

MAX_ENDED = 1000


class LegView(Shape):
    """One channel of a live call; the first is the caller's."""

    uniqueid: str
    channel: str
    caller_number: str | None
    caller_name: str | None
    #: Asterisk's channel state, as it says it (``Ring``, ``Up``, ...)
    state: str
    created_at: Moment
    answered_at: Moment | None
    ended_at: Moment | None
    hangup_cause: int | None
    hangup_cause_text: str | None


class LiveCallView(Shape):
    """LIVE_CALL: a call as the live tracker follows it (id = its Linkedid)."""

    id: str
    state: Literal["active", "ended"]
    caller_number: str | None
    caller_name: str | None
    started_at: Moment
    answered_at: Moment | None
    ended_at: Moment | None
    duration: Seconds
    #: the last queue the caller joined
    queue: str | None
    #: the last agent that answered
    agent: str | None
    wait_seconds: Seconds | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    legs: list[LegView]


class CallRecordView(Shape):
    """CALL_RECORD: an ended call as stored, with the customer it was matched to."""

    id: str
    state: Literal["ended"]
    caller_number: str | None
    caller_name: str | None
    started_at: Moment
    answered_at: Moment | None
    ended_at: Moment | None
    duration: Seconds
    queue: str | None
    agent: str | None
    wait_seconds: Seconds | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    customer_id: int | None


class CallList(Shape):
    """``?state=active``: LIVE_CALLs; ``?state=ended``: CALL_RECORDs, newest first."""

    calls: list[LiveCallView] | list[CallRecordView]


class CallQuery(QueryString):
    state: Literal["active", "ended"] = "active"
    #: how many ended calls (``state=ended`` only)
    limit: Annotated[int, Field(ge=1, le=MAX_ENDED)] = 100


class CallsMessage(Shape):
    """Websocket, to supervisors and admins: the live calls when the socket opens."""

    type: Literal["calls"]
    calls: list[LiveCallView]


class CallMessage(Shape):
    """Websocket, to supervisors and admins: a call started, changed or ended."""

    type: Literal["call"]
    event: Literal["started", "updated", "ended"]
    call: LiveCallView
