"""Missed-call callbacks: abandons past the queue's threshold, the IVR's requests and the
callback key pressed in a queue (``holding.py``: the caller keeps their place) become
tasks (the IVR writes its own through the one ``CallbackRepository``, made by
``repository`` and handed to both by the composition root), an answered call cancels
what its number is owed, pending tasks expire; supervisors list, cancel and reassign
them, and every change is pushed to them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ctiserver.agents import Agents
from ctiserver.callbacks import http
from ctiserver.callbacks.dialer import CallbackDialer
from ctiserver.callbacks.holding import QueueCallbacks
from ctiserver.callbacks.keyprompts import key_prompts, publish_key_prompts
from ctiserver.callbacks.model import Miss
from ctiserver.callbacks.sources import Answered, Change, MissedCalls, change_from_dict, change_to_dict
from ctiserver.callbacks.store import CallbackInfo, CallbackRepository, policy_from
from ctiserver.calls.model import CallTracker, waiting_calls
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.ivr import IvrRunRepository, PromptLibrary
from ctiserver.stats.model import StatsLog
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.vocabulary import SUPERVISOR_ROLES

log = logging.getLogger(__name__)

#: seconds between looks for pending tasks past their expiry
EXPIRY_INTERVAL = 30.0


@dataclass(frozen=True)
class Callbacks:
    store: CallbackRepository
    writer: BackgroundWriter[Change]
    #: None unless callbacks.dial
    dialer: CallbackDialer | None


def repository(core: Core) -> CallbackRepository:
    """The server's callback tasks, with the callbacks' policy and this server's name."""
    settings = core.settings.callbacks
    return CallbackRepository(core.db, policy_from(settings), server=settings.server_id or socket.gethostname())


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
    def push(task: CallbackInfo) -> None:
        core.hub.to_roles(SUPERVISOR_ROLES, {"type": "callback", "callback": task.to_dict()})


    async def enrich(miss: Miss) -> Miss:
        """The caller's customer record (VIPs are called back first) and IVR choices."""
        found = await customers.find_by_phone(miss.number) if miss.customer_id is None else []
        choices = miss.choices
        if not choices and miss.linkedid:
            choices = tuple(
                f"{step['node']}:{step['digits']}" for run in await runs.list_for_call(miss.linkedid)
                for step in run.path if step.get("digits") and step.get("kind") in ("menu", "input", "language")
            )
        if found:
            return dataclasses.replace(miss, customer_id=found[0].id, vip=miss.vip or found[0].level == "vip",
                                       choices=choices)
        return dataclasses.replace(miss, choices=choices)

    async def save(changes: Sequence[Change]) -> None:
        for change in changes:
            if isinstance(change, Answered):
                for task in await store.cancel_for_number(change.number, change.at):
                    log.info("callback %d to %s cancelled: call %s reached an agent",
                             task.id, task.number, change.linkedid)
                    push(task)
            else:
                task, new = await store.record_miss(await enrich(change))
                log.info("callback %d to %s: %s (%s)", task.id, task.number,
                         "new" if new else f"{task.misses} misses", change.source)
                push(task)

    writer: BackgroundWriter[Change] = core.durable_writer(
        save, "missed calls", name="callbacks", encode=change_to_dict, decode=change_from_dict
    )
    thresholds = {queue.name: queue.callback_after_wait for queue in settings.hotline.queues}
    stats.subscribe(MissedCalls(calls, thresholds, writer.put))

    async def expire_forever() -> None:
        while True:
            for task in await store.expire(core.clock()):
                log.info("callback %d to %s expired", task.id, task.number)
                push(task)
            await asyncio.sleep(EXPIRY_INTERVAL)

    core.long_running("callback expiry", expire_forever)
    http.register(core.app, store, queues=frozenset(core.queue_names), clock=core.clock, changed=push)
    dialer = None
    if settings.callbacks.dial:
        if not settings.hotline.callback_interface:
            raise ValueError("callbacks.dial needs hotline.callback_interface (how customers are called)")
        dialer = _dialer(core, store, agents, push)
        if settings.hotline.queue_callback_key:
            holding = QueueCallbacks(store, dialer, calls, settings, enrich=enrich, clock=core.clock,
                                     changed=push)
            core.agi.route("queue-callback", holding.agi)
    return Callbacks(store, writer, dialer)


def _dialer(
    core: Core, store: CallbackRepository, agents: Agents, push: Callable[[CallbackInfo], None]
) -> CallbackDialer:
    users: dict[str, int] = {}

    async def seat() -> None:
        for record in await agents.directory.all():
            if record.user_id is not None:
                users[agents.desk.interface_of(record)] = record.user_id

    sending: list[asyncio.Task[None]] = []

    async def send(interface: str, message: dict[str, Any], before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.gather(before, return_exceptions=True)
        if interface not in users:  # seated since start (the directory changed)
            await seat()
        user_id = users.get(interface)
        if user_id is not None:
            core.hub.to_user(user_id, message)

    def offer(interface: str, body: dict[str, Any]) -> None:
        """In order, even when the first needs a look at the directory."""
        message = {"type": "callback_offer", **body}
        user_id = users.get(interface)
        if user_id is not None and not sending:
            core.hub.to_user(user_id, message)
            return
        task = asyncio.get_running_loop().create_task(send(interface, message, sending[-1] if sending else None))
        sending.append(task)
        task.add_done_callback(sending.remove)

    dialer = CallbackDialer(
        store, core.ami, agents.board, core.settings, clock=core.clock, changed=push, offer=offer,
        waiting=lambda queue: bool(waiting_calls(core.calls.active_calls(), queue)),
        leases=DiallerLeases(core.db, store.server, core.settings.callbacks.lease),
    )
    core.follow(dialer.handle)
    core.on_start(seat)
    # on every node, not under a lease yet: its claims (FOR UPDATE SKIP LOCKED) dial each
    # task once (docs/deploy.md, several nodes)
    core.long_running("callback dialer", dialer.run_forever)
    return dialer
