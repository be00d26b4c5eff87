"""The edge boxes stand in for the queue box while it is down (docs/deploy.md, "The queue box
dies").

While the queue box is up, an edge's calls are the queue box's calls (read there), and no queue
on an edge has a member. When the queue box's AMI link drops *and* an edge finds the queue box
unreachable too (its trunk to it has no reachable contact), the server logs the agents whose
phones are on that edge in to the edge's own queues (the queues they were in, paused as they
were): from then on the edge's ``[cti-queue-box-down]`` queues its new callers there, in the
default queue, instead of turning them away, and announces each with the user event
``CtiEdgeQueued``. The server takes such a call as its own from that event on: it adds the call
from the edge's channel list and follows the rest of its events (and the edge's queue member
events while it stands in), so the live model, the pop, the records and the statistics have it
once, under the edge's call id (the edge's ``systemname`` keeps its ids apart from the queue
box's). When the queue box's AMI link is back, the edge's members are removed (callers then go
on to the queue box again); the calls taken on the edge are followed to their end.

The infrastructure knows no feature: the composition root hands in who the edge's agents are
(``members``), where events go (``dispatch``), how a call is added from a channel list
(``adopt``) and whether a call is still up (``alive``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ctiserver.settings import EdgeBoxSettings, Settings
from ctiserver.telephony.ami.link import AmiActionFailed, AmiError, AmiLink

log = logging.getLogger(__name__)

#: how often an edge is asked whether it still reaches the queue box, while its AMI is away
POLL_SECONDS = 0.5
#: the user event an edge sends as it queues a caller of its own ([cti-queue-box-down])
EDGE_QUEUED = "CtiEdgeQueued"

Message = Mapping[str, str]


@dataclass(frozen=True)
class Member:
    """An agent the server logs in to an edge's queues while the queue box is down."""

    interface: str
    name: str
    queues: tuple[str, ...]
    paused: bool = False
    #: QueueAdd's StateInterface ("": none)
    state_interface: str = ""


@dataclass
class _Edge:
    settings: EdgeBoxSettings
    link: AmiLink
    #: its agents are members of its own queues (the queue box is down)
    standing_in: bool = False
    #: linkedid -> events held while the call is added from the channel list (None: followed live)
    taken: dict[str, list[Message] | None] = field(default_factory=dict)


class StandIn:
    """Each edge standing in for the queue box while it is down."""

    def __init__(
        self, settings: Settings, queue_box: AmiLink, edges: Sequence[tuple[EdgeBoxSettings, AmiLink]], *,
        members: Callable[[EdgeBoxSettings], Sequence[Member]],
        dispatch: Callable[[Message], None],
        adopt: Callable[[Sequence[Message], float], None],
        alive: Callable[[str], bool],
    ) -> None:
        self._queue_box = queue_box
        self._queue_box_name = settings.boxes.name
        self._members, self._dispatch, self._adopt, self._alive = members, dispatch, adopt, alive
        self.edges = [_Edge(edge, link) for edge, link in edges]
        self._watch: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if not self.edges:
            return  # one box: nothing stands in
        queue_box.on_lost(self._queue_box_lost)
        queue_box.on_ready(self._queue_box_back)
        for edge in self.edges:
            edge.link.on_event(self._event_handler(edge))
            edge.link.on_ready(self._edge_ready_handler(edge))

    async def stop(self) -> None:
        tasks = [t for t in (self._watch, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status(self, name: str) -> dict[str, object]:
        edge = next(e for e in self.edges if e.settings.name == name)
        return {"standing_in": edge.standing_in, "calls_taken": len(edge.taken)}

    def taken_channels_wanted(self) -> bool:
        return any(edge.taken for edge in self.edges)

    async def taken_channels(self) -> list[Message]:
        """The edges' channels of the calls taken there (the queue box's resynchronisation
        keeps them: they are not the queue box's, yet they are up)."""
        found: list[Message] = []
        for edge in self.edges:
            if not edge.taken or not edge.link.connected:
                continue
            try:
                listing = await edge.link.send_list_action({"Action": "CoreShowChannels"})
            except AmiError:
                log.warning("box %s: its channels could not be listed", edge.settings.name)
                continue
            found += [m for m in listing if m.get("Event") == "CoreShowChannel" and m.get("Linkedid") in edge.taken]
        return found

    # -- the queue box goes and comes back ---------------------------------------------------

    def _queue_box_lost(self) -> None:
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_queue_box(), name="stand-in-watch")

    async def _watch_queue_box(self) -> None:
        """While the queue box's AMI is away: each edge that finds it unreachable stands in."""
        while not self._queue_box.connected:
            for edge in self.edges:
                if not edge.standing_in and edge.link.connected and not await self._reaches_queue_box(edge):
                    await self._stand_in(edge)
            await asyncio.sleep(POLL_SECONDS)

    async def _reaches_queue_box(self, edge: _Edge) -> bool:
        try:
            reply = await edge.link.send_action(
                {"Action": "Getvar", "Variable": f"PJSIP_DIAL_CONTACTS({self._queue_box_name})"}
            )
        except AmiError:
            return True  # not known: nothing is changed
        return bool(reply.get("Value", ""))

    async def _stand_in(self, edge: _Edge) -> None:
        edge.standing_in = True
        members = self._members(edge.settings)
        log.warning("queue box %s is down: box %s takes its own callers, agents %s in its queues",
                    self._queue_box_name, edge.settings.name, ", ".join(m.name for m in members) or "(none)")
        await self._add_members(edge, members)

    async def _add_members(self, edge: _Edge, members: Sequence[Member]) -> None:
        for member in members:
            for queue in member.queues:
                action = {"Action": "QueueAdd", "Queue": queue, "Interface": member.interface,
                          "MemberName": member.name, "Paused": "true" if member.paused else "false"}
                if member.state_interface:
                    action["StateInterface"] = member.state_interface
                try:
                    await edge.link.send_action(action)
                except AmiActionFailed as exc:  # another node added them first
                    log.info("box %s: %s in %s: %s", edge.settings.name, member.interface, queue, exc)
                except AmiError:
                    log.exception("box %s: %s not added to %s", edge.settings.name, member.interface, queue)

    def _queue_box_back(self) -> None:
        for edge in self.edges:
            if edge.standing_in:
                log.warning("queue box %s is back: box %s sends its callers on to it again",
                            self._queue_box_name, edge.settings.name)
            edge.standing_in = False
            self._spawn(self._clear_members(edge))

    async def _clear_members(self, edge: _Edge) -> None:
        """No member in the edge's queues while the queue box is up (left by a stand-in, also
        one a server that died meanwhile could not end)."""
        if not edge.link.connected:
            return
        try:
            listing = await edge.link.send_list_action({"Action": "QueueStatus"})
        except AmiError:
            log.warning("box %s: its queues could not be read", edge.settings.name)
            return
        for message in listing:
            if message.get("Event") != "QueueMember" or edge.standing_in:
                continue
            action = {"Action": "QueueRemove", "Queue": message.get("Queue", ""),
                      "Interface": message.get("Location") or message.get("StateInterface", "")}
            try:
                await edge.link.send_action(action)
            except AmiError as exc:  # another node removed it first
                log.info("box %s: %s: %s", edge.settings.name, action["Interface"], exc)

    def _edge_ready_handler(self, edge: _Edge) -> Callable[[], None]:
        def ready() -> None:
            if edge.standing_in:  # the edge restarted meanwhile: its members again
                self._spawn(self._add_members(edge, self._members(edge.settings)))
            elif self._queue_box.connected:
                self._spawn(self._clear_members(edge))

        return ready

    # -- the edge's own calls ------------------------------------------------------------------

    def _event_handler(self, edge: _Edge) -> Callable[[Message], None]:
        def handle(message: Message) -> None:
            linkedid = message.get("Linkedid", "")
            if message.get("Event") == "UserEvent" and message.get("UserEvent") == EDGE_QUEUED:
                if linkedid and linkedid not in edge.taken:
                    edge.taken[linkedid] = []
                    self._spawn(self._take(edge, linkedid))
                return
            if linkedid:
                if linkedid not in edge.taken:
                    return  # the queue box's call (or none of the server's)
                held = edge.taken[linkedid]
                if held is not None:
                    held.append(message)
                    return
                self._dispatch(message)
                if message.get("Event") == "Hangup" and not self._alive(linkedid):
                    del edge.taken[linkedid]
            elif edge.standing_in and message.get("Event", "").startswith("QueueMember"):
                self._dispatch(message)

        return handle

    async def _take(self, edge: _Edge, linkedid: str) -> None:
        """The call ``linkedid`` queued on the edge: added from the edge's channel list, then
        the events held meanwhile."""
        at = time.time()
        try:
            listing = await edge.link.send_list_action({"Action": "CoreShowChannels"})
            channels = [m for m in listing if m.get("Event") == "CoreShowChannel" and m.get("Linkedid") == linkedid]
            self._adopt(channels, at)
        except AmiError:
            log.warning("box %s: call %s: its channels could not be listed", edge.settings.name, linkedid)
        finally:
            held = edge.taken.get(linkedid) or []
            edge.taken[linkedid] = None
            log.info("box %s: call %s queued on the box itself (the queue box is down)", edge.settings.name, linkedid)
            for message in held:
                self._dispatch(message)
            if not self._alive(linkedid):
                edge.taken.pop(linkedid, None)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
