"""The composition root: wires the protocol adapters (AMI, FastAGI, web) to the domain.

Nothing here speaks a protocol or holds call state itself; it connects the
pieces and owns their life cycle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from aiohttp import web

from ctiserver.agi.server import AgiServer
from ctiserver.ami.link import AmiError, AmiLink
from ctiserver.ami.translate import channel_snapshots, to_event
from ctiserver.domain.calls import Call, CallTracker, CallUpdate
from ctiserver.ivr.engine import FlowEngine
from ctiserver.ivr.hotline import HotlineIvr
from ctiserver.ivr.prompts import PromptLibrary
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.services import DbFlowServices
from ctiserver.settings import IvrSettings, Settings
from ctiserver.storage.calls import CallRepository
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.storage.flows import FlowVersionRepository, IvrRunRepository
from ctiserver.web.app import create_app

log = logging.getLogger(__name__)


class CallRecorder:
    """Writes ended calls to the database without ever blocking event handling.

    A failed write is retried with back-off; calls still queued at shutdown are
    written before the database closes.
    """

    def __init__(self, repository: CallRepository) -> None:
        self._repository = repository
        self._queue: asyncio.Queue[Call] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def on_call_update(self, update: CallUpdate) -> None:
        if update.kind == "ended":
            self._queue.put_nowait(update.call)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="call-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            await self._save(self._queue.get_nowait(), attempts=3)

    async def _run(self) -> None:
        while True:
            call = await self._queue.get()
            await self._save(call, attempts=None)

    async def _save(self, call: Call, attempts: int | None) -> None:
        delay = 0.5
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._repository.save(call)
                return
            except Exception:
                log.exception("could not record call %s (attempt %d)", call.linkedid, attempt)
                if attempts is not None and attempt >= attempts:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)


class CtiServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database.url, echo=settings.database.echo)
        self.calls = CallTracker()
        self.ami = AmiLink(settings.ami)
        self.agi = AgiServer(settings.agi)
        self.recorder = CallRecorder(CallRepository(self.db))
        self.flows = FlowRegistry(
            Path(settings.ivr.flows_dir),
            queues=[queue.name for queue in settings.hotline.queues],
            sounds_dirs=[Path(settings.ivr.flows_dir), Path(settings.ivr.asterisk_sounds_dir)],
            versions=FlowVersionRepository(self.db),
        )
        self.ivr = HotlineIvr(self.flows, _flow_engine(settings.ivr, self.db), IvrRunRepository(self.db))
        self.web_app: web.Application = create_app(settings, db=self.db, calls=self.calls, ami=self.ami, flows=self.flows)
        self._runner: web.AppRunner | None = None
        self._watcher: asyncio.Task[None] | None = None

        self.calls.subscribe(self.recorder.on_call_update)
        self.calls.subscribe(self._forget_ended_ivr)
        self.ami.on_event(self._on_ami_event)
        self.ami.on_ready(self._resynchronise)
        self.agi.route("hotline", self.ivr.start_call)
        self.agi.route("hotline-after", self.ivr.continue_call)

    @property
    def web_port(self) -> int:
        assert self._runner is not None
        site = next(iter(self._runner.sites))
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def start(self) -> None:
        await upgrade_schema(self.settings.database.url)
        self.recorder.start()
        for problem in await self.flows.load_all():
            log.warning("flow problem at start: %s", problem)
        self._watcher = asyncio.create_task(self.flows.watch(self.settings.ivr.watch_interval), name="flow-watcher")
        await self.agi.start()
        await self.ami.start()
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        log.info(
            "ctiserver up: web http://%s:%d, FastAGI %s:%d, AMI %s:%d",
            self.settings.web.host, self.web_port, self.settings.agi.host, self.agi.port,
            self.settings.ami.host, self.settings.ami.port,
        )

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.ami.stop()
        await self.agi.stop()
        await self.recorder.stop()
        await self.db.close()

    def _on_ami_event(self, message) -> None:  # type: ignore[no-untyped-def]
        event = to_event(message, getattr(message, "received_at", time.time()))
        if event is not None:
            self.calls.handle(event)

    async def _resynchronise(self) -> None:
        """After every (re)connection the channel list is the truth: no ghost calls, none missed."""
        at = time.time()
        try:
            listing = await self.ami.send_list_action({"Action": "CoreShowChannels"})
        except AmiError:
            log.exception("resynchronisation failed: CoreShowChannels")
            return
        snapshots = channel_snapshots(m for m in listing if m.get("Event") == "CoreShowChannel")
        before = len(self.calls.active_calls())
        self.calls.resync(snapshots, at)
        try:
            queue_status = await self.ami.send_list_action({"Action": "QueueStatus"})
        except AmiError:
            log.exception("resynchronisation failed: QueueStatus")
            queue_status = []
        for message in queue_status:
            if message.get("Event") == "QueueEntry":
                event = to_event(message, at)
                if event is not None:
                    self.calls.handle(event)
        log.info(
            "resynchronised with Asterisk: %d channels, %d active calls (was %d)",
            len(snapshots), len(self.calls.active_calls()), before,
        )

    def _forget_ended_ivr(self, update: CallUpdate) -> None:
        if update.kind == "ended":
            self.ivr.forget(update.call.linkedid)


def _flow_engine(settings: IvrSettings, db: Database) -> FlowEngine:
    """The IVR engine with prompts and voicemail in directories Asterisk can read."""
    prompt_dir = Path(settings.prompt_dir).resolve()
    voicemail_dir = Path(settings.voicemail_dir).resolve()
    flows_dir = Path(settings.flows_dir).resolve()
    prompts = PromptLibrary(
        prompt_dir,
        settings.asterisk_prompt_dir or str(prompt_dir),
        flow_sounds_asterisk_dir=(settings.asterisk_flows_dir or str(flows_dir)) + "/sounds",
    )
    services = DbFlowServices(
        db,
        voicemail_host_dir=voicemail_dir,
        voicemail_asterisk_dir=settings.asterisk_voicemail_dir or str(voicemail_dir),
    )
    return FlowEngine(services, prompts)
