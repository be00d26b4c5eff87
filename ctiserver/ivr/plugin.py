"""The IVR: flows in force (validated, versioned, watched), callers run through them over
FastAGI, admins' flow routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ctiserver.calendar import DayRules
from ctiserver.calls.model import CallUpdate
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.ivr import http
from ctiserver.ivr.callback_requesting import callback_from_dict, callback_to_dict
from ctiserver.ivr.engine.runner import FlowEngine
from ctiserver.ivr.hotline import HotlineIvr
from ctiserver.ivr.prompts import PromptLibrary, prompt_dirs
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.services import CallbackRequests, DbFlowServices, TicketService
from ctiserver.ivr.store import FlowVersionRepository, IvrRunRepository
from ctiserver.ivr.ticket_opening import request_from_dict, request_to_dict
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.storage.notify import FLOW_VERSIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ivr:
    flows: FlowRegistry
    hotline: HotlineIvr
    #: the synthesised prompts (other features publish theirs there too)
    prompts: PromptLibrary
    #: what callers did in the IVR (the callbacks read their choices)
    runs: IvrRunRepository


def register(
    core: Core, availability: Callable[[str], bool], *,
    customers: CustomerRepository, tickets: TicketService, callbacks: CallbackRequests,
) -> Ivr:
    """``availability`` tells whether a queue has an agent who can take a call now;
    ``customers``, ``tickets``, ``callbacks``: the server's services the flows use (the
    tickets' carries the server's clock and SLA rules)."""
    settings = core.settings.ivr
    prompts = _prompt_library(core.settings)
    flows = FlowRegistry(
        Path(settings.flows_dir),
        queues=core.queue_names,
        sounds_dirs=[Path(settings.flows_dir), Path(settings.asterisk_sounds_dir)],
        versions=FlowVersionRepository(core.db),
        prepare=prompts.prepare_flow,
    )
    engine, services = _flow_engine(
        core.settings, core.db, prompts, availability, customers=customers, tickets=tickets, callbacks=callbacks
    )
    # a ticket the database was too busy for is opened later, from the journal (on disk at
    # once: a request is the caller's, kept through a crash; another node writes it if this
    # one never comes back, ``storage.shared_journal_dir``)
    opener = services.ticket_opener
    opener.later = core.durable_writer(
        opener.open_queued, "IVR tickets", name="ivr-tickets", encode=request_to_dict, decode=request_from_dict,
        journal_first=True,
    ).put
    requests = services.callback_requests
    requests.later = core.durable_writer(
        requests.request_queued, "IVR callback requests", name="ivr-callbacks", encode=callback_to_dict,
        decode=callback_from_dict, journal_first=True,
    ).put
    runs = services.runs  # one instance: the engine's services record the runs the hotline reads
    hotline = HotlineIvr(flows, engine, runs)

    async def load() -> None:
        for problem in await flows.load_all():
            log.warning("flow problem at start: %s", problem)

    async def watch() -> None:
        await flows.watch(settings.watch_interval)

    def forget_ended(update: CallUpdate) -> None:
        if update.kind == "ended":
            hotline.forget(update.call.linkedid)

    published: set[asyncio.Task[None]] = set()

    def published_elsewhere(name: str | None) -> None:
        """Another node published (or a reconnection: maybe missed one): in force here next."""
        task = asyncio.get_running_loop().create_task(flows.follow_stored(name or None))
        published.add(task)
        task.add_done_callback(published.discard)

    core.notifications.listen(FLOW_VERSIONS, published_elsewhere)
    core.calls.subscribe(forget_ended)
    core.on_start(load)
    core.long_running("flow-watcher", watch)
    core.agi.route("hotline", hotline.start_call)
    core.agi.route("hotline-after", hotline.continue_call)
    http.register(core.app, flows)
    return Ivr(flows, hotline, prompts, runs)


def _prompt_library(settings: Settings) -> PromptLibrary:
    """Prompts in a directory Asterisk can read, flow sounds as Asterisk sees them."""
    ivr = settings.ivr
    prompt_dir, asterisk_dir = prompt_dirs(ivr)
    flows_dir = Path(ivr.flows_dir).resolve()
    return PromptLibrary(
        prompt_dir,
        asterisk_dir,
        flow_sounds_asterisk_dir=(ivr.asterisk_flows_dir or str(flows_dir)) + "/sounds",
        cache_dir=Path(ivr.prompt_cache_dir).resolve() if ivr.prompt_cache_dir else None,
    )


def _flow_engine(
    settings: Settings, db: Database, prompts: PromptLibrary, availability: Callable[[str], bool], *,
    customers: CustomerRepository, tickets: TicketService, callbacks: CallbackRequests,
) -> tuple[FlowEngine, DbFlowServices]:
    """The IVR engine with voicemail in a directory Asterisk can write, and its services."""
    ivr = settings.ivr
    voicemail_dir = Path(ivr.voicemail_dir).resolve()
    days = DayRules.from_settings(settings.calendar)
    services = DbFlowServices(
        db,
        voicemail_host_dir=voicemail_dir,
        voicemail_asterisk_dir=ivr.asterisk_voicemail_dir or str(voicemail_dir),
        availability=availability,
        customers=customers,
        tickets=tickets,
        callbacks=callbacks,
        callback_queue=settings.hotline.default_queue,
        timezone=settings.hotline.timezone,
        region=settings.hotline.region,
        ticket_wait=ivr.ticket_wait,
    )
    if ivr.hours != "flow":
        log.warning("ivr.hours = %r: hours nodes do not apply their flow's opening hours", ivr.hours)
    return FlowEngine(services, prompts, hours=ivr.hours, days=days), services
