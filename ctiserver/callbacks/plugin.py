"""Missed-call callbacks: abandons past the queue's threshold, the IVR's requests and the
callback key pressed in a queue (``holding.py``: the caller keeps their place) become
tasks (the IVR writes its own through the one ``CallbackRepository``, made by
``repository`` and handed to both by the composition root), an answered call cancels
what its number is owed, pending tasks expire (``service.py``); supervisors list, cancel and
reassign them, and every change is pushed to them (``notifier.py``). Only wiring here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ctiserver.agents import Agents
from ctiserver.callbacks import http
from ctiserver.callbacks.dialer import CallbackDialer
from ctiserver.callbacks.holding import QueueCallbacks
from ctiserver.callbacks.keyprompts import key_prompts, publish_key_prompts
from ctiserver.callbacks.notifier import CallbackNotifier
from ctiserver.callbacks.service import MissedCallService
from ctiserver.callbacks.sources import Change, MissedCalls, change_from_dict, change_to_dict
from ctiserver.callbacks.store import CallbackRepository, policy_from
from ctiserver.calls.model import CallTracker, waiting_calls
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.ivr import IvrRunRepository, PromptLibrary
from ctiserver.stats.model import StatsLog
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.storage.writer import BackgroundWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Callbacks:
    store: CallbackRepository
    writer: BackgroundWriter[Change]
    #: None unless callbacks.dial
    dialer: CallbackDialer | None


def repository(core: Core) -> CallbackRepository:
    """The server's callback tasks, with the callbacks' policy and this server's name
    (``callbacks.server_id``, else the node's: two nodes on one host differ)."""
    settings = core.settings.callbacks
    return CallbackRepository(core.db, policy_from(settings), server=settings.server_id or core.node_name[:64])


def register(
    core: Core, stats: StatsLog, agents: Agents, prompts: PromptLibrary, store: CallbackRepository,
    customers: CustomerRepository, calls: CallTracker, runs: IvrRunRepository,
) -> Callbacks:
    """``prompts``: where the callback key's own prompts are synthesised (the IVR's library);
    ``runs``: the IVR's runs (what a caller chose);
    ``store``: from :func:`repository`; ``customers``: the customers' repository; ``calls``:
    the live call model (the composition root's)."""
    settings = core.settings
    key_prompts(settings)  # a prompt that is not a plain sound name stops the start here

    async def publish() -> None:
        for problem in await publish_key_prompts(prompts, settings):
            log.warning("callback key prompt not made: %s", problem)

    core.on_start(publish)
    notifier = CallbackNotifier(core.hub, agents.seats)
    service = MissedCallService(store, customers, runs, changed=notifier.changed, clock=core.clock)
    writer: BackgroundWriter[Change] = core.durable_writer(
        service.save, "missed calls", name="callbacks", encode=change_to_dict, decode=change_from_dict,
        journal_first=True,
    )
    thresholds = {queue.name: queue.callback_after_wait for queue in settings.hotline.queues}
    stats.subscribe(MissedCalls(calls, thresholds, writer.put))
    core.long_running("callback expiry", service.expire_forever)
    http.register(core.app, store, queues=frozenset(core.queue_names), clock=core.clock, changed=notifier.changed)
    dialer = None
    if settings.callbacks.dial:
        if not settings.hotline.callback_interface:
            raise ValueError("callbacks.dial needs hotline.callback_interface (how customers are called)")
        dialer = CallbackDialer(
            store, core.ami, agents.board, core.settings, clock=core.clock, changed=notifier.changed,
            offer=notifier.offer, waiting=lambda queue: bool(waiting_calls(calls.active_calls(), queue)),
            leases=DiallerLeases(core.db, store.server, settings.callbacks.lease),
        )
        core.follow(dialer.handle)
        core.ami.on_lost(dialer.link_lost)
        core.ami.on_ready(dialer.link_back)
        # every node keeps its server's lease and follows what it claimed; one node dials
        # (docs/deploy.md, several nodes)
        core.long_running("callback-lease", dialer.keep_alive)
        core.long_running("callback-dialer", dialer.run_forever, once=True)
        if settings.hotline.queue_callback_key:
            holding = QueueCallbacks(store, dialer, calls, settings, enrich=service.enrich, clock=core.clock,
                                     changed=notifier.changed)
            core.agi.route("queue-callback", holding.agi)
    return Callbacks(store, writer, dialer)
