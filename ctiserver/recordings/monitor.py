"""Live monitoring: a supervisor listens to, whispers to or barges into an agent's call.

The server originates, over AMI, a call to the supervisor's phone (their desk phone, or with
none given their browser phone, ``webrtc.supervisor_endpoint``) that runs ChanSpy on the
agent's leg of that call once answered: ``q`` (quiet: the agent is not told), ``w`` (whisper:
the agent hears the supervisor, the caller does not), ``B`` (barge: both hear), ``E`` (end
with the spied leg). The spied channel is the agent's, as the agent board knows it; it is
checked against a strict pattern before it reaches ChanSpy's arguments.
"""

from __future__ import annotations

import re
from typing import Any

from ctiserver.agents import AgentRepository
from ctiserver.agents.model import AgentBoard, AgentState
from ctiserver.phone import supervisor_endpoint_of
from ctiserver.recordings.service import RecordingService
from ctiserver.settings import Settings
from ctiserver.telephony.ami.actions import AmiError
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.vocabulary import is_extension

#: mode -> ChanSpy's options
MODES = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}
#: what an agent's channel name may hold before it goes into ChanSpy's arguments
SAFE_CHANNEL = re.compile(r"[A-Za-z0-9/@;._-]{1,128}")


class MonitorError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def chanspy_data(channel: str, mode: str) -> str:
    """ChanSpy's arguments for spying on ``channel`` in ``mode``; ValueError if unsafe."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if SAFE_CHANNEL.fullmatch(channel) is None:
        raise ValueError(f"not a channel name to spy on: {channel!r}")
    return f"{channel},{MODES[mode]}"


class DeskRecording:
    """The agent's own call's recording, paused and resumed from the desk."""

    def __init__(self, settings: Settings, board: AgentBoard, agents: AgentRepository,
                 service: RecordingService) -> None:
        self._pattern = settings.hotline.agent_interface
        self._board = board
        self._agents = agents
        self._service = service

    async def set_paused(self, user_id: int, paused: bool) -> dict[str, Any]:
        record = await self._agents.for_user(user_id)
        if record is None:
            raise MonitorError(404, "no agent for this user")
        agent = self._board.get(self._pattern.replace("{extension}", record.extension))
        if agent is None or agent.state is not AgentState.ON_CALL or not agent.channel_uniqueid:
            raise MonitorError(409, "you have no call")
        recording = self._service.set_paused(agent.channel_uniqueid, paused)
        if recording is None:
            raise MonitorError(409, "your call is not being recorded")
        return {"id": recording.id, "call_id": recording.call_id, "paused": recording.paused,
                "gaps": [{"start": start, "end": end} for start, end in recording.gaps]}


class LiveMonitor:
    def __init__(self, settings: Settings, ami: AmiLink, board: AgentBoard) -> None:
        self._settings = settings
        self._ami = ami
        self._board = board

    def phone_interface(self, extension: str, user_id: int | None = None) -> str:
        """The supervisor's desk phone at ``extension``; with none, their browser phone."""
        if not extension and user_id is not None and self._settings.webrtc.enabled:
            return f"PJSIP/{supervisor_endpoint_of(self._settings, user_id)}"
        pattern = self._settings.recordings.monitor_interface or self._settings.hotline.agent_interface
        return pattern.replace("{extension}", extension)

    def agent_channel(self, call_id: str) -> str | None:
        """The channel of the agent on ``call_id`` now (the last to take it, after a transfer)."""
        on_call = [a for a in self._board.all() if a.state is AgentState.ON_CALL and a.linkedid == call_id
                   and a.channel]
        on_call.sort(key=lambda a: a.state_since)
        return on_call[-1].channel if on_call else None

    async def start(self, call_id: str, mode: str, extension: str, user_id: int | None = None) -> dict[str, Any]:
        """Ring the supervisor's phone (their desk phone's ``extension``, or with none their
        browser phone) to spy on ``call_id``'s agent."""
        channel = self.agent_channel(call_id)
        if channel is None:
            raise MonitorError(404, "no agent is on that call now")
        browser = not extension and user_id is not None and self._settings.webrtc.enabled
        if not browser and not is_extension(extension):
            raise MonitorError(400, "phone must be digits")
        try:
            data = chanspy_data(channel, mode)
        except ValueError as exc:
            raise MonitorError(409, str(exc)) from exc
        phone = self.phone_interface(extension, user_id)
        try:
            await self._ami.send_action({
                "Action": "Originate", "Channel": phone, "Application": "ChanSpy", "Data": data,
                "Async": "true", "Timeout": "30000", "CallerID": f"Monitor <{extension or 'browser'}>",
            })
        except AmiError as exc:
            raise MonitorError(503, f"Asterisk refused the monitoring call: {exc}") from exc
        return {"call_id": call_id, "mode": mode, "phone": phone, "agent_channel": channel}
