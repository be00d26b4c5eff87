"""What every feature plugs into: the composition root builds one :class:`Core` and hands it
to each feature's ``plugin.register(core, ...)`` (wazo-calld's plugins are the model).

A feature takes from it the settings, the database, the telephony links, the live call
model and the web application, and gives back hooks: what to do at start and at stop,
which long-lived tasks to run, which typed telephony events to follow.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

from ctiserver.settings import Settings, StorageSettings
from ctiserver.storage.database import Database
from ctiserver.storage.leases import Leases
from ctiserver.storage.nodes import NodeRegistry
from ctiserver.storage.notify import Notifications
from ctiserver.storage.writer import BackgroundWriter
from ctiserver.storage.writer.rescue import JournalRescue, OwnerLock, journal_home
from ctiserver.supervision import SupervisedTask
from ctiserver.telephony.agi.server import AgiServer
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.telephony.events import DomainEvent
from ctiserver.web import health
from ctiserver.web.hub import LiveHub
from ctiserver.web.metrics import METRICS_KEY, ServerMetrics

log = logging.getLogger(__name__)

Hook = Callable[[], Coroutine[Any, Any, None]]


class CallModel(Protocol):
    """The live call model (``ctiserver.calls.model.CallTracker``), handed in by the composition
    root: the core imports no feature. A feature that needs more of the tracker than this is
    handed the tracker itself by the composition root."""

    def handle(self, event: DomainEvent) -> None: ...

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``listener`` with each ``CallUpdate`` until the returned function is called."""
        ...

    def active_calls(self) -> Sequence[Any]: ...
T = TypeVar("T")


def node_name(settings: Settings) -> str:
    """A node's name (``nodes.name``, else the host name and the web port)."""
    return settings.nodes.name or f"{socket.gethostname()}:{settings.web.port}"


@dataclass
class Core:
    settings: Settings
    db: Database
    ami: AmiLink
    agi: AgiServer
    #: the live call model every feature reads; fed first with each telephony event
    calls: CallModel
    app: web.Application
    hub: LiveHub
    #: epoch seconds now; every feature's services read time from here
    clock: Callable[[], float] = time.time
    _starting: list[Hook] = field(default_factory=list)
    _stopping: list[Hook] = field(default_factory=list)
    _long_running: list[SupervisedTask] = field(default_factory=list)
    _followers: list[Callable[[DomainEvent], None]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: wake-ups from the other nodes' commits (PostgreSQL LISTEN; nothing on SQLite)
    notifications: Notifications = field(init=False)
    #: the duties that run once among the nodes (``long_running(..., once=True)``)
    leases: Leases = field(init=False)
    #: the nodes on this database: who is up, one session secret (nothing on SQLite)
    nodes: NodeRegistry = field(init=False)
    #: the durable writers' settings: their journal directory is this node's own under
    #: ``storage.shared_journal_dir`` when that is set
    storage: StorageSettings = field(init=False)
    #: writes the journals of nodes that are down (``storage.shared_journal_dir``), or None
    journal_rescue: JournalRescue | None = field(init=False, default=None)
    _writers: list[BackgroundWriter[Any]] = field(default_factory=list)
    _owner_lock: OwnerLock | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        nodes = self.settings.nodes
        self.notifications = Notifications(self.db.url, retry=nodes.listen_retry)
        self.leases = Leases(self.db.url, node=self.node_name, interval=nodes.lease_interval)
        web, agi = self.settings.web, self.settings.agi
        self.nodes = NodeRegistry(
            self.db, name=self.node_name, secret=web.session_secret, heartbeat=nodes.heartbeat,
            web=f"http://{web.host}:{web.port}", agi=f"{agi.host}:{agi.port}",
        )
        if self.nodes.enabled:
            self._long_running.append(SupervisedTask("node-heartbeat", self._heartbeat))
        self.storage = self.settings.storage
        shared = self.storage.shared_journal_dir
        if shared:
            home = journal_home(shared, self.node_name)
            self.storage = dataclasses.replace(self.storage, journal_dir=str(home))
            self._owner_lock = OwnerLock(home)
            if self.nodes.enabled:
                self.journal_rescue = JournalRescue(
                    shared, self.node_name, self.db.url, self.nodes, lambda: list(self._writers),
                    interval=nodes.heartbeat,
                )
                self._long_running.append(SupervisedTask("journal-rescue", self.journal_rescue.run))

    async def _heartbeat(self) -> None:
        await self.nodes.run(time.time)  # real time, whatever clock the features read

    @property
    def metrics(self) -> ServerMetrics:
        """This node's ``/metrics`` (a feature adds its own counts and readings)."""
        return self.app[METRICS_KEY]

    @property
    def node_name(self) -> str:
        """This node's name (``nodes.name``, else the host name and the web port)."""
        return node_name(self.settings)

    @property
    def queue_names(self) -> list[str]:
        return [queue.name for queue in self.settings.hotline.queues]

    def on_start(self, hook: Hook) -> None:
        """Run at start, in registration order, before the telephony links and the web open."""
        self._starting.append(hook)

    def on_stop(self, hook: Hook) -> None:
        """Run at stop, in reverse registration order, after the links and the web closed."""
        self._stopping.append(hook)

    def long_running(self, name: str, run: Hook, *, once: bool = False) -> None:
        """A task that lives as long as the server, started after the start hooks; if it
        raises, it is logged and started again (``ctiserver.supervision``). ``once``: a duty
        that runs on one node at a time, under the lease ``name`` (``ctiserver.storage.leases``):
        the others wait and take it over when its node dies."""
        self._long_running.append(SupervisedTask(name, self._under_lease(name, run) if once else run))

    def _under_lease(self, name: str, duty: Hook) -> Hook:
        async def run() -> None:
            await self.leases.run(name, duty)

        return run

    def parts(self) -> dict[str, dict[str, Any]]:
        """The health of each long-lived task, by name, for ``/healthz``."""
        return {task.name: task.health.to_dict() for task in self._long_running}

    def durable_writer(
        self,
        save: Callable[[list[T]], Awaitable[None]],
        what: str,
        *,
        name: str,
        encode: Callable[[T], Mapping[str, Any]],
        decode: Callable[[Mapping[str, Any]], T],
        started_by_core: bool = True,
        journal_first: bool = False,
    ) -> BackgroundWriter[T]:
        """A writer for what the event path must store (``ctiserver.storage.writer``): kept in
        memory, then journaled under ``name`` while the database is away, shown in
        ``/healthz``; drained at stop. Started with the features, unless the feature starts
        it itself (``started_by_core=False``: e.g. to replay its journal before reading).
        ``journal_first``: what a caller asked for, on disk before anything else (see
        ``BackgroundWriter``)."""
        writer: BackgroundWriter[T] = BackgroundWriter(
            save, what, name=name, encode=encode, decode=decode, settings=self.storage,
            journal_first=journal_first,
        )
        self._writers.append(writer)
        health.watch_writer(self.app, writer)
        if started_by_core:
            self.on_start(writer.start)
        self.on_stop(writer.stop)
        return writer

    def follow(self, listener: Callable[[DomainEvent], None]) -> None:
        """Every typed telephony event, after the call model, in registration order."""
        self._followers.append(listener)

    def dispatch(self, event: DomainEvent) -> None:
        self.calls.handle(event)
        for listener in self._followers:
            listener(event)

    async def start_features(self) -> None:
        await self.nodes.join(time.time())  # refuses another session secret than the nodes up
        if self._owner_lock is not None:  # before any writer opens its journal
            await self._owner_lock.take()
        await self.leases.start()
        for hook in self._starting:
            await hook()
        await self.notifications.start()
        self._tasks = [
            asyncio.create_task(task.run_forever(), name=task.name) for task in self._long_running
        ]

    async def stop_features(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.notifications.stop()
        await self.leases.stop()
        try:
            await self.nodes.leave()
        except Exception as exc:  # noqa: BLE001  (the database away: the heartbeat runs out)
            log.warning("node %s: could not mark itself down (%s)", self.node_name, exc)

    async def close(self) -> None:
        for hook in reversed(self._stopping):
            await hook()
        if self._owner_lock is not None:
            self._owner_lock.release()
