"""``GET /api/recordings``, ``GET /api/recordings/{id}/audio`` and ``.../waveform``.

Supervisors and admins hear every recording; agents their own, or none
(``recordings.agents``). The audio is served from the recordings directory only: the id
must be one of ours (32 hex digits), the file the one the index names, resolved inside
the directory; anything else is 404 and nothing is read. Every play and download is
written to the audit log (the route is declared audited). ``?format=mp3`` (or ``ogg``)
serves a compressed copy made on first request and cached (``media.py``); the WAV stays
the default and the download. The waveform follows the same rules and is audited too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.agents import AgentRepository
from ctiserver.recordings.files import inside
from ctiserver.recordings.media import ENCODINGS, MediaCache, MediaError
from ctiserver.recordings.model import Viewer, is_id, may_hear
from ctiserver.recordings.monitor import DeskRecording, LiveMonitor, MonitorError
from ctiserver.recordings.schemas import (
    AudioQuery,
    HoldRequest,
    MonitorAnswer,
    MonitorRequest,
    RecordingList,
    RecordingPauseAnswer,
    RecordingPauseRequest,
    RecordingQuery,
    RecordingView,
    Waveform,
)
from ctiserver.recordings.store import RecordingFilter, RecordingRepository
from ctiserver.recordings.tables import RecordingRow
from ctiserver.vocabulary import DESK_ROLES
from ctiserver.web.contract import body_of, query_of, route
from ctiserver.web.handling import ApiError
from ctiserver.web.keys import USER_KEY


class RecordingAccess:
    """What the routes need: the index, the directory, the agents (for who is who), the policy."""

    def __init__(self, index: RecordingRepository, agents: AgentRepository, directory: Any, agents_policy: str,
                 media: MediaCache):
        self.index = index
        self.agents = agents
        self.directory = directory
        self.agents_policy = agents_policy
        self.media = media

    async def viewer(self, request: web.Request) -> Viewer:
        user = request[USER_KEY]
        extension = None
        if user.role == "agent":
            record = await self.agents.for_user(user.id)
            extension = record.extension if record is not None else None
        return Viewer(user.role, extension)


ACCESS_KEY = web.AppKey("recordings", RecordingAccess)


def recording_dict(row: RecordingRow) -> dict[str, Any]:
    return {
        "id": row.id, "call_id": row.call_id, "caller_number": row.caller_number,
        "caller_name": row.caller_name, "agent": row.agent, "queue": row.queue,
        "customer_id": row.customer_id, "started_at": row.started_at.isoformat(timespec="milliseconds"),
        "ended_at": row.ended_at.isoformat(timespec="milliseconds"), "duration": row.duration,
        "size": row.size, "format": row.format, "playable": row.flag is None, "flag": row.flag,
        "audio_url": f"/api/recordings/{row.id}/audio", "hold": bool(row.hold),
        "mp3_url": f"/api/recordings/{row.id}/audio?format=mp3",
        "waveform_url": f"/api/recordings/{row.id}/waveform",
        "gaps": [{"start": start, "end": end} for start, end in (row.gaps or [])],
    }


async def list_recordings(request: web.Request) -> dict[str, Any]:
    """Newest first. An agent sees only their own recordings (none if agents may hear none)."""
    access = request.app[ACCESS_KEY]
    query = query_of(request, RecordingQuery)
    viewer = await access.viewer(request)
    agent = query.agent
    if viewer.role == "agent":
        if access.agents_policy != "own":
            raise ApiError(403, "agents may not hear recordings")
        if viewer.extension is None:
            return {"recordings": []}
        if agent not in (None, viewer.extension):
            raise ApiError(403, "only your own recordings")
        agent = viewer.extension
    rows = await access.index.find(RecordingFilter(
        caller=query.caller, agent=agent, start=query.start, end=query.end, queue=query.queue,
        customer_id=query.customer_id, ticket=query.ticket, min_duration=query.min_duration,
        call_id=query.call_id, limit=query.limit,
    ))
    return {"recordings": [recording_dict(row) for row in rows]}


async def playable(request: web.Request) -> tuple[RecordingRow, Any]:
    """The recording the path names and its file, if this user may hear it and it plays."""
    access = request.app[ACCESS_KEY]
    recording_id = request.match_info["id"]
    if not is_id(recording_id):
        raise ApiError(404, "no such recording")
    row = await access.index.get(recording_id)
    if row is None:
        raise ApiError(404, "no such recording")
    if not may_hear(await access.viewer(request), row.agent, access.agents_policy):
        raise ApiError(403, "not your recording")
    path = inside(access.directory, row.path) if row.flag is None else None
    if path is None:
        raise ApiError(404, "this recording cannot be played")
    return row, path


async def audio(request: web.Request) -> web.StreamResponse:
    """The recording's audio, with HTTP Range for seeking: the WAV, or ``?format=mp3`` (``ogg``)
    made on first request and cached; ``?download=1`` as an attachment."""
    row, path = await playable(request)
    fmt = query_of(request, AudioQuery).format
    content_type, extension = "audio/wav", "wav"
    if fmt != "wav":
        encoding = ENCODINGS[fmt]
        try:
            path = await request.app[ACCESS_KEY].media.encoded(row.id, path, fmt)
        except MediaError as exc:
            raise ApiError(503, f"{exc}; the WAV plays: /api/recordings/{row.id}/audio") from exc
        content_type, extension = encoding.content_type, encoding.extension
    headers = {"Content-Type": content_type, "Cache-Control": "private, max-age=3600"}
    if query_of(request, AudioQuery).download:
        headers["Content-Disposition"] = f'attachment; filename="recording-{row.id}.{extension}"'
    return web.FileResponse(path, headers=headers)


async def waveform(request: web.Request) -> dict[str, Any]:
    """The recording's waveform: the lowest and highest sample of each of a few hundred equal
    stretches (in [-1, 1]), computed on first request and cached, with the paused gaps."""
    row, path = await playable(request)
    try:
        peaks = await request.app[ACCESS_KEY].media.peaks(row.id, path)
    except MediaError as exc:
        raise ApiError(503, str(exc)) from exc
    return {
        "id": row.id, "duration": peaks["duration"], "min": peaks["min"], "max": peaks["max"],
        "gaps": [{"start": start, "end": end} for start, end in (row.gaps or [])],
    }


async def hold(request: web.Request) -> dict[str, Any]:
    """Hold a recording past the retention period (a complaint, a dispute), or release it."""
    recording_id = request.match_info["id"]
    if not is_id(recording_id):
        raise ApiError(404, "no such recording")
    row = await request.app[ACCESS_KEY].index.set_hold(recording_id, body_of(request, HoldRequest).hold)
    if row is None:
        raise ApiError(404, "no such recording")
    return recording_dict(row)


MONITOR_KEY = web.AppKey("live_monitor", LiveMonitor)
DESK_RECORDING_KEY = web.AppKey("desk_recording", DeskRecording)


async def pause(request: web.Request) -> dict[str, Any]:
    """Pause (or resume) the recording of your own call while sensitive data is said: the
    gap is marked in the index and blanked in the file when the call ends."""
    body = body_of(request, RecordingPauseRequest)
    try:
        return await request.app[DESK_RECORDING_KEY].set_paused(request[USER_KEY].id, body.paused)
    except MonitorError as exc:
        raise ApiError(exc.status, exc.message) from exc


async def monitor(request: web.Request) -> dict[str, Any]:
    """Ring the supervisor's phone; answered, it listens to (whispers to, barges into) the
    agent's side of the call, the agent not told."""
    body = body_of(request, MonitorRequest)
    try:
        return await request.app[MONITOR_KEY].start(body.call_id, body.mode, body.phone, request[USER_KEY].id)
    except MonitorError as exc:
        raise ApiError(exc.status, exc.message) from exc


def register(app: web.Application, access: RecordingAccess, live: LiveMonitor, desk: DeskRecording) -> None:
    app[ACCESS_KEY] = access
    app[MONITOR_KEY] = live
    app[DESK_RECORDING_KEY] = desk
    route(app, "POST", "/api/agent/recording", pause, summary="Pause or resume the recording of your call",
          roles=DESK_ROLES, body=RecordingPauseRequest, answer=RecordingPauseAnswer,
          target="recording",
          errors={404: "no agent for this user", 409: "no call, or it is not recorded"})
    route(app, "POST", "/api/monitor", monitor, summary="Listen to, whisper to or barge into a live call",
          roles={"supervisor", "admin"}, denied="supervisors only", body=MonitorRequest, answer=MonitorAnswer,
          target="call", errors={404: "no agent on that call now", 409: "that call cannot be spied on",
                                 503: "Asterisk is not reachable or refused"})
    route(app, "GET", "/api/recordings", list_recordings, summary="Search the call recordings",
          roles=DESK_ROLES, query=RecordingQuery, answer=RecordingList,
          errors={403: "agents may hear none, or not another agent's"})
    route(app, "GET", "/api/recordings/{id}/audio", audio, summary="A recording's audio, with Range",
          roles=DESK_ROLES, query=AudioQuery, media_type="audio/wav", target="recording", audited=True,
          errors={403: "not your recording", 404: "no such recording, or not playable",
                  503: "the compressed copy could not be made (the WAV still plays)"})
    route(app, "GET", "/api/recordings/{id}/waveform", waveform, summary="A recording's waveform (peaks)",
          roles=DESK_ROLES, answer=Waveform, target="recording", audited=True,
          errors={403: "not your recording", 404: "no such recording, or not playable",
                  503: "the waveform could not be computed"})
    route(app, "POST", "/api/recordings/{id}/hold", hold, summary="Hold a recording past retention, or release it",
          roles={"supervisor", "admin"}, denied="supervisors only", body=HoldRequest, answer=RecordingView,
          target="recording", errors={404: "no such recording"})
