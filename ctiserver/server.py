"""The composition root: wires the protocol adapters (AMI, FastAGI, web) to the domain.

Nothing here speaks a protocol or holds call state itself; it connects the
pieces and owns their life cycle.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ctiserver.agents.desk import AgentDeskService
from ctiserver.agents.model import AgentBoard
from ctiserver.agents.store import AgentRepository
from ctiserver.calls.model import Call, CallTracker, CallUpdate
from ctiserver.calls.queues import QueueRoster
from ctiserver.calls.store import CallRepository
from ctiserver.customers.cards import BatchedCardLookup, CustomerCards
from ctiserver.ivr.engine.runner import FlowEngine
from ctiserver.ivr.hotline import HotlineIvr
from ctiserver.ivr.prompts import PromptLibrary
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.services import DbFlowServices
from ctiserver.ivr.store import FlowVersionRepository, IvrRunRepository
from ctiserver.live.wallboard import WallboardService
from ctiserver.pops.service import ScreenPopService
from ctiserver.settings import IvrSettings, Settings
from ctiserver.stats.model import Record, StatsLog
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.telephony.agi.server import AgiServer
from ctiserver.telephony.ami.link import AmiError, AmiLink
from ctiserver.telephony.ami.translate import channel_snapshots, queue_status_items, to_event
from ctiserver.web.app import create_app
from ctiserver.web.keys import HUB_KEY

log = logging.getLogger(__name__)


class CtiServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        queues = [queue.name for queue in settings.hotline.queues]
        self.db = Database(settings.database.url, echo=settings.database.echo)
        self.calls = CallTracker()
        self.ami = AmiLink(settings.ami)
        self.agi = AgiServer(settings.agi)
        self.call_records = CallRepository(self.db)
        self.call_writer: BackgroundWriter[Call] = BackgroundWriter(self._save_calls, "ended calls")
        self.stats_records = StatsRepository(self.db)
        self.flows = FlowRegistry(
            Path(settings.ivr.flows_dir),
            queues=queues,
            sounds_dirs=[Path(settings.ivr.flows_dir), Path(settings.ivr.asterisk_sounds_dir)],
            versions=FlowVersionRepository(self.db),
        )
        self.board = AgentBoard(wrapup_seconds={q.name: q.wrapup_time for q in settings.hotline.queues})
        self.ivr = HotlineIvr(
            self.flows, _flow_engine(settings.ivr, self.db, self.board.can_take), IvrRunRepository(self.db)
        )
        self.roster = QueueRoster()
        self.stats = StatsLog()
        self.agents = AgentRepository(self.db)
        self.desk = AgentDeskService(
            self.agents, self.ami, self.board, queues=queues, interface_pattern=settings.hotline.agent_interface
        )
        self.pops = ScreenPopService(
            calls=self.calls, cards=BatchedCardLookup(CustomerCards(self.db).for_phones), ivr_runs=self.ivr.live
        )
        self.wallboard = WallboardService(
            board=self.board, stats=self.stats, calls=self.calls, queues=queues, history=self.stats_records
        )
        self.web_app: web.Application = create_app(
            settings, db=self.db, calls=self.calls, ami=self.ami, flows=self.flows,
            desk=self.desk, wallboard=self.wallboard, user_channel=self.pops,
        )
        self.pops.attach(self.web_app[HUB_KEY])
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

        self.calls.subscribe(self._store_ended_call)
        self.stats_writer: BackgroundWriter[Record] = BackgroundWriter(self.stats_records.append, "statistics records")
        self.stats.subscribe(self.stats_writer.put)
        self.calls.subscribe(self._forget_ended_ivr)
        self.calls.subscribe(self.wallboard.changed)
        self.calls.subscribe(self.pops.on_call_update)
        self.board.subscribe(self.stats.on_agent_update)
        self.board.subscribe(self.pops.on_agent_update)
        self.board.subscribe(self.wallboard.changed)
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
        now = time.time()
        self.stats.restore(await self.stats_records.between(self.wallboard.day_start(now), now + 1))
        self.call_writer.start()
        self.stats_writer.start()
        for problem in await self.flows.load_all():
            log.warning("flow problem at start: %s", problem)
        await self.seat_agents()
        self._tasks = [
            asyncio.create_task(self.flows.watch(self.settings.ivr.watch_interval), name="flow-watcher"),
            asyncio.create_task(self._tick_agents(), name="agent-clock"),
            asyncio.create_task(self.wallboard.push_forever(self.web_app[HUB_KEY]), name="wallboard"),
        ]
        await self.agi.start()
        await self.ami.start()
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.settings.web.port)
        await site.start()
        # What start-up built (modules, classes, flows, caches) lives as long as the
        # server: kept out of the collector's full passes, which otherwise stall the
        # event loop for 100-300 ms each under a burst of calls (bench/screenpop.py).
        # Garbage first, so that no dead cycle is frozen with the living.
        gc.collect()
        gc.freeze()
        log.info(
            "ctiserver up: web http://%s:%d, FastAGI %s:%d, AMI %s:%d",
            self.settings.web.host, self.web_port, self.settings.agi.host, self.agi.port,
            self.settings.ami.host, self.settings.ami.port,
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.ami.stop()
        await self.agi.stop()
        await self.call_writer.stop()
        await self.stats_writer.stop()
        await self.db.close()

    async def seat_agents(self) -> None:
        """Who answers which phone, for screen pops and for calls that reach an agent without a
        queue (transfers); again whenever the agent directory changes."""
        for record in await self.agents.all():
            interface = self.desk.interface_of(record)
            self.board.enroll(interface, record.name)
            if record.user_id is not None:
                self.pops.seat(interface, record.user_id)

    async def _tick_agents(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.board.tick()

    def _on_ami_event(self, message) -> None:  # type: ignore[no-untyped-def]
        event = to_event(message, getattr(message, "received_at", time.time()))
        if event is None:
            return
        self.calls.handle(event)
        self.board.handle(event)
        self.roster.handle(event)
        self.stats.handle(event)

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
        members = queue_status_items(queue_status, at)
        self.roster.resync(members, at)
        self.board.resync(members, at)
        self.stats.resync({snapshot.uniqueid for snapshot in snapshots}, at)
        log.info(
            "resynchronised with Asterisk: %d channels, %d active calls (was %d)",
            len(snapshots), len(self.calls.active_calls()), before,
        )

    def _store_ended_call(self, update: CallUpdate) -> None:
        if update.kind == "ended":
            self.call_writer.put(update.call)

    async def _save_calls(self, calls: list[Call]) -> None:
        for call in calls:
            await self.call_records.save(call)

    def _forget_ended_ivr(self, update: CallUpdate) -> None:
        if update.kind == "ended":
            self.ivr.forget(update.call.linkedid)


def _flow_engine(settings: IvrSettings, db: Database, availability: Callable[[str], bool]) -> FlowEngine:
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
        availability=availability,
    )
    return FlowEngine(services, prompts)
