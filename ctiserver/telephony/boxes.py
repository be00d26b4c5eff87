"""The edge boxes: the other Asterisk boxes beside the queue box (docs/deploy.md, "Two Asterisk
boxes").

The queue box (the one ``[ami]`` reaches) holds every call the contact center sees: callers
entering an edge box go on to its hotline over a PJSIP trunk, and agents whose phones are on
an edge are rung from it through the trunk. So the live model, the records, the statistics
and the recordings come from the queue box's AMI alone, and an edge's events are not read as
calls (they would be the same calls twice), except the calls an edge takes itself while the
queue box is down (``ctiserver.telephony.standin``).

What the server needs of an edge is to know when it dies: then the queue box's channels on
its trunk are the halves of calls whose other half died with it. Asterisk would notice only
when their media stops (``boxes.rtp_timeout``); the server hangs them up as soon as the box is
known dead, so their records close at once and their agents are free. A box is dead when its
AMI link has dropped *and* the queue box's OPTIONS to it go unanswered (its trunk has no
reachable contact): a lost AMI link alone (a network hiccup, a restarted manager) ends no call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ctiserver.settings import AmiSettings, EdgeBoxSettings, Settings
from ctiserver.telephony.ami.link import AmiError, AmiLink

log = logging.getLogger(__name__)

#: how often the queue box's view of a silent edge's trunk is read while its AMI is away
POLL_SECONDS = 0.5


@dataclass
class EdgeBox:
    settings: EdgeBoxSettings
    link: AmiLink
    #: the box was found dead since its AMI link was last up (its trunk calls were ended)
    dead: bool = False
    #: trunk calls found on the queue box when the box was found dead, all told (this
    #: server hung them up, or another node did a moment before)
    calls_ended: int = 0
    _watch: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.settings.name

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "ami": self.link.connected, "dead": self.dead, "calls_ended": self.calls_ended}


class EdgeBoxes:
    """An AMI link to each edge and what to do when one dies."""

    def __init__(self, settings: Settings, queue_box: AmiLink) -> None:
        self._queue_box = queue_box
        self.boxes = [
            EdgeBox(edge, AmiLink(_edge_events(settings, edge))) for edge in settings.boxes.edges
        ]
        for box in self.boxes:
            box.link.on_ready(self._ready_handler(box))
            box.link.on_lost(self._lost_handler(box))

    async def start(self) -> None:
        for box in self.boxes:
            await box.link.start()

    async def stop(self) -> None:
        for box in self.boxes:
            if box._watch is not None:
                box._watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await box._watch
            await box.link.stop()

    def status(self) -> list[dict[str, object]]:
        return [box.to_dict() for box in self.boxes]

    #: ``/healthz`` ``checks.boxes`` (a ``ctiserver.web.health.HealthCheck``, when there are edges)
    name = "boxes"

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """Degraded while an edge's AMI link is down (dead or not)."""
        return all(box.link.connected for box in self.boxes), {"edges": self.status()}

    def _ready_handler(self, box: EdgeBox) -> Callable[[], None]:
        def ready() -> None:
            if box.dead:
                log.info("box %s is back", box.name)
            box.dead = False

        return ready

    def _lost_handler(self, box: EdgeBox) -> Callable[[], None]:
        def lost() -> None:
            if box._watch is None or box._watch.done():
                box._watch = asyncio.create_task(self._watch_dead(box), name=f"box-{box.name}-watch")

        return lost

    async def _watch_dead(self, box: EdgeBox) -> None:
        """While the box's AMI is away: once its trunk is unreachable too, end its calls."""
        log.warning("AMI link to box %s lost: watching its trunk", box.name)
        while not box.link.connected:
            if not await self._trunk_contacts(box):
                box.dead = True
                ended = await self.end_trunk_calls(box)
                log.warning("box %s is dead: %d call(s) on its trunk ended", box.name, ended)
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _trunk_contacts(self, box: EdgeBox) -> str:
        """The trunk's reachable contacts as the queue box sees them ("": none answers OPTIONS).
        Not its device state, which stays INUSE while the dead box's calls are up."""
        try:
            reply = await self._queue_box.send_action(
                {"Action": "Getvar", "Variable": f"PJSIP_DIAL_CONTACTS({box.name})"}
            )
        except AmiError:
            return "unknown"
        return str(reply.get("Value", ""))

    async def end_trunk_calls(self, box: EdgeBox) -> int:
        """Hang up the queue box's channels on ``box``'s trunk; how many there were."""
        try:
            listing = await self._queue_box.send_list_action({"Action": "CoreShowChannels"})
        except AmiError:
            log.exception("box %s: the queue box's channels could not be listed", box.name)
            return 0
        prefix = f"PJSIP/{box.name}-"
        channels = [m.get("Channel", "") for m in listing if m.get("Event") == "CoreShowChannel"]
        ended = 0
        for channel in channels:
            if not channel.startswith(prefix) or not re.fullmatch(r"[A-Za-z0-9/_.;@-]+", channel):
                continue
            # counted whoever ends it: with several nodes, another may hang it up first
            ended += 1
            box.calls_ended += 1
            try:
                await self._queue_box.send_action({"Action": "Hangup", "Channel": channel, "Cause": "38"})
            except AmiError as exc:
                log.info("box %s: %s already gone (%s)", box.name, channel, exc)
        return ended


def _edge_events(settings: Settings, edge: EdgeBoxSettings) -> AmiSettings:
    """Every event, as from the queue box: an edge's calls are the queue box's, read there, but
    the calls it takes itself while the queue box is down (``ctiserver.telephony.standin``) are
    read from it, and its events are filtered there."""
    return settings.edge_ami(edge)
