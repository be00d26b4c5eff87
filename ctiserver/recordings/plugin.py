"""Recordings: MixMonitor on every agent's leg of a recorded queue's calls, the index, the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ctiserver.agents import AgentRepository
from ctiserver.agents.model import AgentBoard
from ctiserver.calls.model import CallTracker
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.recordings import http
from ctiserver.recordings.media import MediaCache
from ctiserver.recordings.monitor import DeskRecording, LiveMonitor
from ctiserver.recordings.notice import recording_notice
from ctiserver.recordings.service import RecordingService
from ctiserver.recordings.store import RecordingRepository
from ctiserver.recordings.transfer import TransferRecording

AGENT_POLICIES = ("own", "none")


def register(
    core: Core, board: AgentBoard, calls: CallTracker, customers: CustomerRepository, agents: AgentRepository
) -> RecordingService:
    """``calls``, ``customers``, ``agents`` (the directory): the composition root's."""
    settings = core.settings.recordings
    if settings.agents not in AGENT_POLICIES:
        raise ValueError(f"recordings.agents must be one of {', '.join(AGENT_POLICIES)}, not {settings.agents!r}")
    recording_notice(core.settings)  # a prompt that is not a plain sound name stops the start here
    index = RecordingRepository(core.db, core.settings.hotline.region)
    service = RecordingService(
        core.settings, calls, index, customers, core.clock
    )

    async def make_directory() -> None:
        await asyncio.to_thread(Path(settings.dir).mkdir, parents=True, exist_ok=True)

    core.on_start(make_directory)
    core.on_stop(service.stop)
    core.agi.route("record", service.agi_record)
    core.follow(service.on_event)
    transfers = TransferRecording(core.ami, service)
    core.ami.on_event(transfers.on_ami)
    core.follow(transfers.on_event)
    core.on_stop(transfers.stop)
    media = MediaCache(service.directory, workers=settings.media_workers, buckets=settings.waveform_points)

    async def close_media() -> None:
        media.close()

    core.on_stop(close_media)
    access = http.RecordingAccess(index, agents, service.directory, settings.agents, media)
    desk = DeskRecording(core.settings, board, agents, service)
    http.register(core.app, access, LiveMonitor(core.settings, core.ami, board), desk)
    return service
