"""The new agent's recording once an attended transfer completes, made on the caller's leg.

MixMonitor converts the channel it records to signed linear with one translator per
direction, kept in the channel's audiohook list for the channel's whole life (stopping
MixMonitor does not free it). Debian's Asterisk carries a packet-loss-concealment patch in
that translator which drops every frame whose sequence number looks older than the last it
saw. During an attended transfer's consultation the new agent's leg carries the first
agent's audio; once the transfer completes it carries the caller's, numbered otherwise, and
its recording loses the caller's voice (for good when the caller is a file or a Local
channel's playback, numbered from 0; until the numbers catch up otherwise), although both
people hear each other. Every channel that carried the consultation has such a translator;
the caller's leg did not (it waited on hold, unrecorded). So when Asterisk says an attended
transfer succeeded (``AttendedTransfer``), the server stops the MixMonitor of the new
agent's leg (AMI ``StopMixMonitor``; that part, the consultation, is indexed as it stands)
and records the rest of the conversation on the caller's leg (AMI ``MixMonitor``): a new
recording of the new agent, under the same call, that ends when the agent's leg does. The
file name is the server's own id (nothing a caller sent) and no command is passed.
``MixMonitor`` needs the AMI ``system`` write class (docs/deploy.md section 8 says why).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from panoramisk.message import Message

from ctiserver.recordings.model import Recording
from ctiserver.recordings.service import RecordingService
from ctiserver.telephony.ami.actions import AmiError
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.telephony.ami.message import lowered_headers
from ctiserver.telephony.events import ChannelHungUp, DomainEvent

log = logging.getLogger(__name__)


class TransferRecording:
    def __init__(self, ami: AmiLink, service: RecordingService) -> None:
        self._ami = ami
        self._service = service
        self._tasks: set[asyncio.Task[None]] = set()
        #: agent's leg Uniqueid -> (the caller's channel recorded for it, the MixMonitor's id)
        self._on_caller: dict[str, tuple[str, str]] = {}

    def on_ami(self, message: Message) -> None:
        if message.get("Event") != "AttendedTransfer" or message.get("Result") != "Success":
            return
        headers = lowered_headers(message)
        caller = str(headers.get("transfereechannel") or "")
        caller_id = str(headers.get("transfereeuniqueid") or "")
        if not caller or not caller_id:
            return
        calls = {str(v) for k, v in headers.items() if k.endswith("linkedid") and v}
        transferers = {str(v) for k, v in headers.items() if k.endswith("uniqueid") and "transferer" in k and v}
        for call_id in calls:
            for recording in self._service.under_way(call_id):
                if (recording.ended_at is None and recording.leg_uniqueid not in transferers
                        and recording.leg_uniqueid != caller_id):
                    self._spawn(self.move_to_caller(recording, caller))

    def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, ChannelHungUp) and event.uniqueid in self._on_caller:
            caller, monitor = self._on_caller.pop(event.uniqueid)
            self._spawn(self._stop(caller, monitor))

    async def move_to_caller(self, recording: Recording, caller: str) -> None:
        try:
            await self._ami.send_action({"Action": "StopMixMonitor", "Channel": recording.channel})
        except AmiError as exc:  # the leg ended meanwhile, or no MixMonitor is left on it
            log.info("recording %s: not moved after the transfer (%s)", recording.id, exc)
            return
        following = self._service.split(recording)
        if following is None:
            return
        try:
            answer = await self._ami.send_action({
                "Action": "MixMonitor", "Channel": caller,
                "File": self._service.asterisk_file(following.relative),
            })
        except AmiError as exc:
            log.warning("recording %s: the rest of %s's call could not be recorded on %s: %s",
                        following.id, following.channel, caller, exc)
            self._service.abandon(following)
            return
        monitor = str(answer.get("MixMonitorID") or "")
        if following.ended_at is not None:  # the agent's leg ended meanwhile
            await self._stop(caller, monitor)
            return
        self._on_caller[following.leg_uniqueid] = (caller, monitor)
        log.info("recording %s continues %s on the caller's leg %s after the attended transfer",
                 following.id, recording.id, caller)

    async def _stop(self, caller: str, monitor: str) -> None:
        action = {"Action": "StopMixMonitor", "Channel": caller}
        if monitor:
            action["MixMonitorID"] = monitor
        try:
            await self._ami.send_action(action)
        except AmiError as exc:  # the caller hung up first: Asterisk closed the file then
            log.debug("StopMixMonitor on %s: %s", caller, exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
