"""The composition root: builds the shared infrastructure, registers every feature on it,
and owns the server's life cycle.

Nothing here speaks a protocol or holds call state itself; each feature's
``plugin.register`` wires its own services, routes and event subscriptions.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Mapping

from aiohttp import web

from ctiserver.agents import plugin as agents_plugin
from ctiserver.audit import plugin as audit_plugin
from ctiserver.callbacks import plugin as callbacks_plugin
from ctiserver.calls import plugin as calls_plugin
from ctiserver.calls.model import CallTracker
from ctiserver.core import Core, node_name
from ctiserver.customers import plugin as customers_plugin
from ctiserver.dispatch import plugin as dispatch_plugin
from ctiserver.ivr import plugin as ivr_plugin
from ctiserver.knowledge import plugin as knowledge_plugin
from ctiserver.live import plugin as live_plugin
from ctiserver.logs import call_context
from ctiserver.meta import plugin as meta_plugin
from ctiserver.notices import plugin as notices_plugin
from ctiserver.observing import observe
from ctiserver.phone import plugin as phone_plugin
from ctiserver.pops import plugin as pops_plugin
from ctiserver.recordings import plugin as recordings_plugin
from ctiserver.reports import plugin as reports_plugin
from ctiserver.settings import EdgeBoxSettings, Settings
from ctiserver.spreadsheets import plugin as spreadsheets_plugin
from ctiserver.stats import plugin as stats_plugin
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.telephony.agi.server import AgiServer
from ctiserver.telephony.ami.link import AmiError, AmiLink
from ctiserver.telephony.ami.translate import MemberCalls, channel_snapshots, queue_status_items, to_event
from ctiserver.telephony.boxes import EdgeBoxes
from ctiserver.telephony.standin import Member, StandIn
from ctiserver.tickets import SERVING_CALLS_KEY, SERVING_KEY
from ctiserver.tickets import plugin as tickets_plugin
from ctiserver.users import plugin as users_plugin
from ctiserver.users import web_parts
from ctiserver.users.store import UserRepository
from ctiserver.visits import plugin as visits_plugin
from ctiserver.waits import plugin as waits_plugin
from ctiserver.web import health
from ctiserver.web.app import create_app
from ctiserver.web.keys import HUB_KEY, PARTS_KEY
from ctiserver.web.metrics import METRICS_KEY
from ctiserver.webhooks import plugin as webhooks_plugin
from ctiserver.workview import plugin as workview_plugin

log = logging.getLogger(__name__)


class CtiServer:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        """``clock`` gives epoch seconds to every service (a benchmark runs simulated days)."""
        self.settings = settings
        self.db = Database(settings.database.url, echo=settings.database.echo)
        self.calls = CallTracker(clock)
        self.ami = AmiLink(settings.ami)
        # several nodes: each says which took a call, so Asterisk tries no other ([cti-agi])
        self.agi = AgiServer(settings.agi, mark=node_name(settings) if len(settings.nodes.agi) > 1 else "")
        #: the other Asterisk boxes beside the queue box ``ami`` reaches (none: one box)
        self.boxes = EdgeBoxes(settings, self.ami)
        # one instance of each repository that several features use, handed down from here
        users = UserRepository(self.db)
        signing_in = web_parts(self.db, settings, users)
        self.web_app: web.Application = create_app(
            settings, db=self.db, calls=self.calls, ami=self.ami, clock=clock, **signing_in
        )
        self.core = Core(
            settings, self.db, self.ami, self.agi, self.calls, self.web_app, self.web_app[HUB_KEY], clock
        )
        core = self.core
        self.web_app[PARTS_KEY] = core
        self.metrics = self.web_app[METRICS_KEY]
        #: AMI messages -> typed events (an AgentComplete whose caller had gone made its call's again)
        self._translate = MemberCalls()
        observe(core, self.metrics)
        if self.boxes.boxes:
            health.watch_check(self.web_app, self.boxes)
            self.metrics.reading("ctiserver_edge_box_up", "1 while an edge box's AMI link is up, by box",
                                 lambda: {b.name: float(b.link.connected) for b in self.boxes.boxes}, label="box")
        # first: its writer stops last, after every feature that records to it
        self.audit = audit_plugin.register(core)
        self.call_records = calls_plugin.register(core)
        agents = agents_plugin.register(core)
        self.board, self.agents, self.desk = agents.board, agents.directory, agents.desk
        phone_plugin.register(core)
        self.stats, self.stats_records = stats_plugin.register(core, self.board)
        customers = customers_plugin.register(core)
        self.dispatch = dispatch_plugin.register(core)
        users_plugin.register(core, self.dispatch, users, signing_in["sessions"])
        self.tickets = tickets_plugin.register(core, customers, self.dispatch, users)
        self.ticket_events = tickets_plugin.event_feed(core)
        callback_store = callbacks_plugin.repository(core)
        ivr = ivr_plugin.register(
            core, self.board.can_take, customers=customers, tickets=self.tickets, callbacks=callback_store
        )
        self.flows, self.ivr = ivr.flows, ivr.hotline
        pops = pops_plugin.register(core, agents, self.ivr, customers, self.calls, self.call_records, self.tickets)
        self.pops, self.seat_agents = pops.service, pops.seat_agents
        # an agent serves the customers of the call at their desk: they see those customers' tickets
        self.web_app[SERVING_KEY] = self.pops.customers_on_desk
        # and the tickets opened on that call (the IVR's, for a caller it did not know)
        self.web_app[SERVING_CALLS_KEY] = self.pops.calls_on_desk
        self.wallboard = live_plugin.register(core, self.board, self.stats, self.stats_records, self.calls)
        self.reports = reports_plugin.register(core, self.stats_records, self.agents)
        self.ticket_feed = workview_plugin.register(core, self.ticket_events, self.dispatch)
        knowledge_plugin.register(core)
        meta_plugin.register(core)
        self.callbacks = callbacks_plugin.register(
            core, self.stats, agents, ivr.prompts, callback_store, customers, self.calls, ivr.runs
        )
        self.recordings = recordings_plugin.register(core, self.board, self.calls, customers, self.agents)
        spreadsheets_plugin.register(core)
        self.webhooks = webhooks_plugin.register(core, self.ticket_events)
        self.visits = visits_plugin.register(core, self.tickets, self.ticket_events, self.ivr, self.agents)
        self.notices = notices_plugin.register(core, self.tickets, customers, users, self.ticket_events)
        self.fair_wait = waits_plugin.register(core, self.board, self.stats, ivr.prompts, self._language_of)
        self._runner: web.AppRunner | None = None
        self.ami.on_event(self._on_ami_event)
        self.ami.on_ready(self._resynchronise)
        #: the edges take their own callers while the queue box is down (after _resynchronise)
        self.stand_in = StandIn(
            settings, self.ami, [(box.settings, box.link) for box in self.boxes.boxes],
            members=self._edge_members, dispatch=self._on_ami_event,
            adopt=lambda channels, at: self.calls.adopt(channel_snapshots(channels), at),
            alive=lambda linkedid: self.calls.get(linkedid) is not None,
        )

    def _edge_members(self, edge: EdgeBoxSettings) -> list[Member]:
        """The agents whose phones are on ``edge`` and who are in queues, as the board knows
        them (the queue box gone): the members the edge's own queues get."""
        state = self.settings.hotline.agent_state_interface
        return [
            Member(agent.interface, agent.name or agent.interface, tuple(sorted(agent.queues)), agent.paused,
                   state.format(extension=agent.extension) if state else "")
            for agent in self.board.all() if agent.extension in edge.agents and agent.queues
        ]

    def _language_of(self, call_id: str) -> str:
        """The language the caller chose in the IVR (the flow's when they chose none)."""
        live = self.ivr.live.get(call_id)
        if live is None:
            return "zh"
        chosen = live.run.variables.get("language") if live.run is not None else None
        return chosen or live.flow.language

    @property
    def web_port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the server is not started")
        site = next(iter(self._runner.sites))
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def start(self) -> None:
        await upgrade_schema(self.settings.database.url, self.settings)
        await self.core.start_features()
        await self.agi.start()
        await self.ami.start()
        await self.boxes.start()
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
        await self.core.stop_features()
        await self.stand_in.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.boxes.stop()
        await self.ami.stop()
        await self.agi.stop()
        await self.core.close()
        await self.db.close()

    def _on_ami_event(self, message: Mapping[str, str]) -> None:
        self.metrics.ami_events.inc()
        event = self._translate(message, getattr(message, "received_at", time.time()))
        if event is not None:
            with call_context(message.get("Linkedid")):
                self.core.dispatch(event)

    async def _resynchronise(self) -> None:
        """After every (re)connection the channel list is the truth: no ghost calls, none missed."""
        self.metrics.ami_connections.inc()
        at = time.time()
        try:
            listing = await self.ami.send_list_action({"Action": "CoreShowChannels"})
        except AmiError:
            log.exception("resynchronisation failed: CoreShowChannels")
            return
        channels = [m for m in listing if m.get("Event") == "CoreShowChannel"]
        if self.stand_in.taken_channels_wanted():  # calls an edge took while this box was down
            channels += await self.stand_in.taken_channels()
        snapshots = channel_snapshots(channels)
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
                    if self.fair_wait is not None:
                        # callers who were waiting before a restart are told too
                        self.fair_wait.handle(event)
        members = queue_status_items(queue_status, at)
        self.board.resync(members, at)
        self.stats.resync({snapshot.uniqueid for snapshot in snapshots}, at)
        log.info(
            "resynchronised with Asterisk: %d channels, %d active calls (was %d)",
            len(snapshots), len(self.calls.active_calls()), before,
        )
