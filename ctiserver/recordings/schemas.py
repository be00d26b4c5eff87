"""JSON shapes of the recordings' API (``GET /api/recordings``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ctiserver.web.schemas import Moment, QueryString, RequestBody, RowId, Seconds, Shape


class RecordingQuery(QueryString):
    """Every filter is optional; times are ISO-8601 with their offset."""

    caller: str | None = Field(None, max_length=64, description=(
        "the caller: their number in any form (13800138000, 138-0013-8000, +86 138 0013 8000) or a part "
        "of it, or a part of their name or their customer's"))
    agent: str | None = Field(None, max_length=32, description="the agent's extension")
    start: Moment | None = Field(None, alias="from", description="recordings started at or after this time")
    end: Moment | None = Field(None, alias="to", description="recordings started before this time")
    queue: str | None = Field(None, max_length=64)
    customer_id: RowId | None = None
    ticket: str | None = Field(None, max_length=32, description="a ticket's number or id opened on the call")
    min_duration: Annotated[float, Field(ge=0)] | None = None
    call_id: str | None = Field(None, max_length=64, description="the call's id (its Linkedid)")
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class RecordingView(Shape):
    id: str
    #: the call's id: a transferred call's recordings share it
    call_id: str
    caller_number: str | None
    caller_name: str | None
    #: the agent's extension
    agent: str | None
    queue: str | None
    customer_id: int | None
    started_at: Moment
    ended_at: Moment
    duration: Seconds
    size: int
    format: str
    #: false for a missing, empty, silent or deleted file (``flag`` says which)
    playable: bool
    flag: str | None
    #: held by a supervisor: the retention purge keeps it
    hold: bool
    #: the parts the agent paused, blanked in the file
    gaps: list[RecordingGap]
    #: where to hear it (``GET``, with Range): the WAV, also the download
    audio_url: str
    #: the same, compressed (MP3, made on first request and cached), for playing in a page
    mp3_url: str
    #: its waveform (``GET``: peaks)
    waveform_url: str


class AudioQuery(QueryString):
    format: Literal["wav", "mp3", "ogg"] = Field(
        "wav", description="wav (as recorded), or mp3 / ogg (Opus) made on first request and cached"
    )
    download: bool = Field(False, description="as an attachment")


class Waveform(Shape):
    """Peaks of a recording: ``min[i]`` and ``max[i]`` are the lowest and highest sample of
    the i-th of equal stretches of the recording, in [-1, 1]."""

    id: str
    duration: Seconds
    min: list[float]
    max: list[float]
    #: the parts the agent paused (blanked in the file)
    gaps: list[RecordingGap]


class HoldRequest(RequestBody):
    hold: bool = Field(description="true: keep it past the retention period; false: release it")


class RecordingGap(Shape):
    #: seconds from the recording's start
    start: Seconds
    end: Seconds | None


class RecordingPauseRequest(RequestBody):
    paused: bool = Field(description="true: stop keeping what is said (card numbers); false: record again")


class RecordingPauseAnswer(Shape):
    id: str
    call_id: str
    paused: bool
    gaps: list[RecordingGap]


class MonitorRequest(RequestBody):
    call_id: str = Field(min_length=1, max_length=64, description="the live call's id")
    mode: Literal["listen", "whisper", "barge"]
    phone: str = Field(default="", pattern=r"^[0-9]{0,16}$",
                       description="the supervisor's desk phone extension, which rings; empty: their browser phone")


class MonitorAnswer(Shape):
    call_id: str
    mode: str
    #: the channel that rings at the supervisor
    phone: str
    #: the agent's leg being spied on
    agent_channel: str


class RecordingList(Shape):
    recordings: list[RecordingView]
