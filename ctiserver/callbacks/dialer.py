"""Dialling callbacks, agent first.

At every tick (every ``callbacks.dial_interval``, and at once when an agent becomes
ready), for each queue with due tasks, inside its calling window and with no caller
waiting (they are not jumped), each free ready agent of the queue gets the next task:
claimed in the database (``CallbackRepository.claim``) BEFORE the Originate, which rings
the agent's phone with the attempt's ChannelId; their desk gets a callback offer. Once
the agent answers, ``[callback]`` dials the customer and bridges them. The outcome comes
from that channel's events: its Dial's end, or its hangup before any Dial (the agent
rejected or missed the offer: not counted).

A caller who presses the callback key in a queue keeps their place (``hold_place``,
``holding.py``): a placeholder's ``;2`` half waits in the queue; the agent who answers it
is learnt from app_queue's events, and its ``;1`` half enters ``[callback]`` as above.

Every node keeps its server's lease (``keep_alive``, ``callbacks.lease``) and, at start,
resolves the attempts its previous run left; one node at a time dials (``run_forever``,
under the lease ``callback-dialer``) and resolves the attempts of servers whose lease ran
out. Such an attempt is looked for in Asterisk by its ChannelId
(``ctiserver.telephony.outbound``): still there, followed to its end; gone, finished
from Asterisk's record of it (``model.recorded_outcome``: a customer who answered is
connected, never dialled again). No Originate once the server's own lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from panoramisk.message import Message

from ctiserver.agents.model import AgentBoard, AgentState, AgentUpdate
from ctiserver.calendar import DayRules, utc
from ctiserver.callbacks.model import (
    CallingWindows,
    Outcome,
    calling_window,
    dial_digits,
    dial_outcome,
    recorded_outcome,
)
from ctiserver.callbacks.store import AttemptInfo, CallbackInfo, CallbackRepository, Claim
from ctiserver.calls.model import PLACEHOLDER_PREFIX
from ctiserver.settings import Settings
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.telephony.ami.link import AmiLink
from ctiserver.telephony.ami.originate import originate_refusal
from ctiserver.telephony.events import (
    AgentCalled,
    AgentConnected,
    AgentEvent,
    AgentRingNoAnswer,
    ChannelHungUp,
    DeviceStatus,
    DialEnded,
    DialStarted,
    DomainEvent,
)
from ctiserver.telephony.outbound import AttemptWatch, Found

log = logging.getLogger(__name__)

#: the dialplan context the agent's leg enters once answered (dialplans/hotline.inc.j2)
CALLBACK_CONTEXT = "callback"
#: where a placeholder's ;2 half waits in the queue (dialplans/hotline.inc.j2)
HOLD_CHANNEL = "Local/s@cti-callback-hold/n"

#: an agent who missed or rejected an offer is not offered another for this many seconds
AGENT_MISSED_REST = 30.0

#: a phone in one of these states is not offered a callback (on a call, ringing, away)
_DEVICE_BUSY = frozenset({
    DeviceStatus.INUSE, DeviceStatus.BUSY, DeviceStatus.RINGING, DeviceStatus.RINGINUSE,
    DeviceStatus.ONHOLD, DeviceStatus.UNAVAILABLE, DeviceStatus.INVALID,
})


@dataclass
class _InFlight:
    attempt: AttemptInfo
    task: CallbackInfo | None
    interface: str | None
    dialled: bool = False
    outcome: Outcome | None = None
    #: the agent's channel is gone: the reservation ends with the attempt
    hung_up: bool = False
    #: a placeholder in a queue: the agent is learnt from app_queue's events
    holding: bool = False
    #: a placeholder's agents ringing, then the one who answered (extension) and the
    #: write of it to the attempt (awaited before the outcome's)
    rung: set[str] = field(default_factory=set)
    extension: str | None = None
    agent_written: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: its outcome is written (or failed to be)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)


class CallbackDialer:
    def __init__(
        self, store: CallbackRepository, ami: AmiLink, board: AgentBoard, settings: Settings, *,
        clock: Callable[[], float], changed: Callable[[CallbackInfo], None],
        offer: Callable[[str, dict[str, Any]], None], waiting: Callable[[str], bool] = lambda queue: False,
        leases: DiallerLeases | None = None,
    ) -> None:
        """``changed``: every change of a task (the supervisors' push); ``offer``: the
        agent's desk message, by member interface; ``waiting``: whether a queue has callers
        (or placeholders) waiting, whom its agents serve first; ``leases``: this server's
        dialling lease (None: a server alone, ``outbound.AttemptWatch``)."""
        self._store, self._ami, self._board, self._settings = store, ami, board, settings
        self._clock, self._changed, self._offer, self._waiting = clock, changed, offer, waiting
        queues = settings.hotline.queues
        ring = max((q.member_timeout for q in queues), default=60)
        self._watch = AttemptWatch(
            ami, leases, server=store.server, clock=clock,
            # an attempt's dialplan starts once its agent answers: within their ring time,
            # or a placeholder's wait in its queue
            span=max(ring, settings.callbacks.hold_timeout) + 60,
        )
        zone, days = settings.hotline.timezone, DayRules.from_settings(settings.calendar)
        #: each queue's calling window on the business calendar
        self._windows = CallingWindows({q.name: calling_window(q.hours, zone, days) for q in queues})
        #: ChannelId -> the attempt being followed
        self._flights: dict[str, _InFlight] = {}
        #: member interfaces ringing or talking for a callback
        self._reserved: dict[str, str] = {}
        self._background: set[asyncio.Task[None]] = set()
        #: member interface -> until when it gets no offer (it missed the last one)
        self._resting: dict[str, float] = {}
        #: told of every Originate sent (tests, benchmarks): (channel id, interface)
        self.on_originate: Callable[[str, str], None] | None = None
        self.link_lost = self._watch.link_lost
        #: set when an agent becomes ready: the loop looks at once instead of at its next tick
        self._wake = asyncio.Event()
        #: tick and resolve never interleave: an orphan followed reserves its agent first
        self._duty = asyncio.Lock()
        board.subscribe(self._on_agent)

    def _on_agent(self, update: AgentUpdate) -> None:
        if update.agent.state is AgentState.READY:
            self._wake.set()

    # -- the loop ------------------------------------------------------------------------

    async def keep_alive(self) -> None:
        """On every node (each claims attempts: a caller's place kept in a queue): this
        server's lease held and renewed, the attempts its previous run left resolved."""
        await self._ami.wait_ready(timeout=3600)
        await self._watch.keep_alive(first=lambda: self.resolve(own=True))

    async def run_forever(self) -> None:
        """The dialling duty, on one node at a time (the lease ``callback-dialer``): offer due
        tasks to free agents, and resolve the attempts of servers whose lease ran out."""
        await self._ami.wait_ready(timeout=3600)
        await self._watch.renewed()  # by keep_alive
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch.resolve_forever(self.resolve))
            while True:
                self._wake.clear()
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.callbacks.dial_interval)

    def free_agents(self, queue: str) -> list[tuple[str, str]]:
        """(interface, extension) of the ready agents of ``queue`` not reserved (ringing or
        talking for a callback) nor resting (they missed one), longest ready first."""
        now = self._clock()
        agents = [
            a for a in self._board.all()
            if a.state is AgentState.READY and queue in a.queues and queue not in a.paused_in
            and self._resting.get(a.interface, 0.0) <= now and a.interface not in self._reserved
            and a.extension is not None and not a.in_call and a.device_status not in _DEVICE_BUSY
        ]
        agents.sort(key=lambda a: a.state_since)
        return [(a.interface, str(a.extension)) for a in agents]

    def may_dial(self, queue: str, now: float) -> bool:
        """Whether ``now`` is in the queue's calling window (a queue not in settings: any time)."""
        return self._windows.open(queue, utc(now))

    async def tick(self) -> int:
        """Offer due tasks to free agents; how many Originates were sent."""
        async with self._duty:
            now = self._clock()
            sent = 0
            if not self._watch.may_originate():
                return sent  # this server's lease is running out: others may take its attempts
            for queue in await self._store.due_queues(now):
                if not self.may_dial(queue, now) or self._waiting(queue):
                    continue  # outside its hours; callers waiting are not jumped
                for interface, extension in self.free_agents(queue):
                    channel_id = f"cb-{uuid.uuid4().hex}"
                    # the clock read now, not at the tick's start: after the end of the agent's
                    # last attempt, which was recorded before the agent was free
                    claim = await self._store.claim(queue, self._clock(), agent=extension, channel_id=channel_id)
                    if claim is None:
                        continue  # nothing due for this agent, or another server offers them one
                    await self._dial(claim, interface, extension)
                    sent += 1
            return sent

    async def _dial(self, claim: Claim, interface: str, extension: str) -> None:
        task, attempt = claim.task, claim.attempt
        flight = _InFlight(attempt, task, interface)
        self._flights[attempt.channel_id] = flight
        self._reserved[interface] = attempt.channel_id
        self._changed(task)
        action = self.originate_action(task, attempt, extension)
        log.info("callback %d to %s: attempt %d rings agent %s first (%s)",
                 task.id, task.number, attempt.id, extension, attempt.channel_id)
        self._offer(interface, {"event": "ringing", "attempt": attempt.id, "callback": task.to_dict()})
        if self.on_originate is not None:
            self.on_originate(attempt.channel_id, interface)
        await self._originate(flight, action)

    async def _originate(self, flight: _InFlight, action: dict[str, Any]) -> None:
        if not self._watch.may_originate():
            refusal: str | None = "not sent: this server's dialling lease is running out"
        else:
            refusal = await originate_refusal(self._ami, action)
        if refusal is not None:
            log.warning("callback attempt %d: %s", flight.attempt.id, refusal)
            await self._finish(flight, Outcome.AGENT_MISSED)

    async def hold_place(self, claim: Claim, action: dict[str, Any]) -> None:
        """Send a placeholder's Originate (``holding.placeholder_action``) for an attempt
        claimed with no agent, and follow it."""
        flight = _InFlight(claim.attempt, claim.task, None, holding=True)
        self._flights[claim.attempt.channel_id] = flight
        self._changed(claim.task)
        log.info("callback %d to %s: attempt %d holds a place in %s (%s)", claim.task.id, claim.task.number,
                 claim.attempt.id, claim.task.queue, claim.attempt.channel_id)
        if self.on_originate is not None:
            self.on_originate(claim.attempt.channel_id, HOLD_CHANNEL)
        await self._originate(flight, action)

    def originate_action(self, task: CallbackInfo, attempt: AttemptInfo, extension: str) -> dict[str, Any]:
        hotline = self._settings.hotline
        queue = next((q for q in hotline.queues if q.name == task.queue), None)
        ring = queue.member_timeout if queue is not None else 15
        number = dial_digits(task.number)
        return {
            "Action": "Originate",
            "Channel": hotline.agent_interface.replace("{extension}", extension),
            "Context": CALLBACK_CONTEXT,
            "Exten": number,
            "Priority": "1",
            # what the agent's phone shows: whom they are calling back
            "CallerID": f'"CB {number}" <{number}>',
            "Timeout": str(ring * 1000),
            "Async": "true",
            "ChannelId": attempt.channel_id,
            "OtherChannelId": f"{attempt.channel_id}-2",
            "Variable": [f"CTI_CALLBACK={task.id}", f"CTI_CALLBACK_ATTEMPT={attempt.id}"],
        }

    # -- following an attempt ---------------------------------------------------------------

    def handle(self, event: DomainEvent) -> None:
        """Typed telephony events (``core.follow``): the agent leg's Dial and hangup."""
        uniqueid = getattr(event, "uniqueid", "")
        if isinstance(event, AgentEvent):
            # app_queue's events name the queued channel: a placeholder's ;2 half
            flight = self._flights.get(uniqueid.removesuffix("-2")) if uniqueid.endswith("-2") else None
            if flight is not None and flight.holding:
                self._on_hold_event(flight, event)
            return
        flight = self._flights.get(uniqueid)
        if flight is None:
            return
        if isinstance(event, DialStarted):
            flight.dialled = True
        elif isinstance(event, DialEnded):
            flight.dialled = True
            outcome = dial_outcome(event.status)
            self._spawn(self._finish(flight, outcome))
        elif isinstance(event, ChannelHungUp):
            flight.hung_up = True
            # no Dial: the agent did not take the offer; a Dial that ended said its outcome
            outcome = Outcome.FAILED if flight.dialled else Outcome.AGENT_MISSED
            self._spawn(self._finish(flight, outcome))

    def _on_hold_event(self, flight: _InFlight, event: AgentEvent) -> None:
        """app_queue's member events on a placeholder: whom it rings, who takes it."""
        body = {"attempt": flight.attempt.id, "callback": flight.task.to_dict()} if flight.task else None
        if isinstance(event, AgentCalled):
            flight.rung.add(event.interface)
            if body is not None:
                self._offer(event.interface, {"event": "ringing", **body})
        elif isinstance(event, AgentRingNoAnswer) and event.interface in flight.rung:
            flight.rung.discard(event.interface)
            if body is not None:
                self._offer(event.interface, {"event": "ended", **body})
        elif isinstance(event, AgentConnected) and flight.interface is None:
            flight.interface = event.interface
            self._reserved[event.interface] = flight.attempt.channel_id
            for other in flight.rung - {event.interface}:  # ringall: the others stop ringing
                if body is not None:
                    self._offer(other, {"event": "ended", **body})
            flight.rung.clear()
            flight.extension = next(
                (str(a.extension) for a in self._board.all() if a.interface == event.interface and a.extension), None
            )
            if flight.extension is not None:
                flight.agent_written = self._spawn(self._store.set_agent(flight.attempt.id, flight.extension))

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _finish(self, flight: _InFlight, outcome: Outcome) -> None:
        if flight.outcome is not None:
            # ended already (the Dial's end, then the hangup): the agent is not free before
            # that end is recorded, else their next claim could start before it
            await flight.recorded.wait()
        else:
            flight.outcome = outcome
            try:
                await self._record(flight, outcome)
            finally:
                flight.recorded.set()
        if outcome is Outcome.AGENT_MISSED and flight.interface is not None:
            self._resting[flight.interface] = self._clock() + AGENT_MISSED_REST
        if flight.hung_up or outcome is not Outcome.CONNECTED:
            self._release(flight)

    async def _record(self, flight: _InFlight, outcome: Outcome) -> None:
        if flight.agent_written is not None:
            await asyncio.gather(flight.agent_written, return_exceptions=True)
        try:
            task = await self._store.finish(flight.attempt.id, outcome, self._clock())
        except Exception:
            log.exception("callback attempt %d: the outcome %s was not recorded", flight.attempt.id, outcome)
            return
        if task is not None:
            log.info("callback %d to %s: attempt %d %s -> %s",
                     task.id, task.number, flight.attempt.id, outcome, task.status)
            self._changed(task)
            if flight.interface is not None:
                event = "answered" if outcome is Outcome.CONNECTED else "ended"
                self._offer(flight.interface, {"event": event, "attempt": flight.attempt.id,
                                               "callback": task.to_dict()})

    def _release(self, flight: _InFlight) -> None:
        self._flights.pop(flight.attempt.channel_id, None)
        if flight.interface is not None and self._reserved.get(flight.interface) == flight.attempt.channel_id:
            del self._reserved[flight.interface]
        flight.done.set()

    # -- after a restart, after another server's death ----------------------------------

    async def resolve(self, *, own: bool = False) -> None:
        """Attempts no live server follows (``own``: this server's, left by its previous
        run; always: those of servers whose lease ran out): followed if Asterisk still
        has their channel, else finished from Asterisk's record of them; never dialled
        again here."""
        async with self._duty:
            orphans = await self._watch.orphans(await self._store.in_flight(), self._flights, own=own)
            for attempt, found in orphans:
                whose = "this server's" if attempt.server == self._store.server else f"dead server {attempt.server}'s"
                if found.channel is not None:
                    await self._follow(attempt, found.channel, whose)
                    continue
                outcome = recorded_outcome(found.dialled, found.status)
                log.warning("callback attempt %d (%s, %s) ended unwatched: %s by Asterisk's record (%s)",
                            attempt.id, attempt.channel_id, whose, outcome, found.record)
                await self._finish(_InFlight(attempt, None, None, hung_up=True), outcome)

    def link_back(self) -> None:
        """The AMI link is back (``AmiLink.on_ready``): the attempts whose end its outage hid
        are ended from their records, their agents freed."""
        self._spawn(self._watch.after_outage(lambda: [f.attempt for f in self._flights.values()], self._unseen))

    async def _unseen(self, attempt: AttemptInfo, found: Found) -> None:
        if (flight := self._flights.get(attempt.channel_id)) is not None:
            flight.hung_up = True
            await self._finish(flight, flight.outcome or recorded_outcome(found.dialled, found.status))

    async def _follow(self, attempt: AttemptInfo, channel: Message, whose: str) -> None:
        interface = self._settings.hotline.agent_interface.replace("{extension}", attempt.agent) \
            if attempt.agent else None
        flight = _InFlight(attempt, None, interface, dialled=channel.get("Application") == "Dial",
                           holding=attempt.channel_id.startswith(PLACEHOLDER_PREFIX))
        self._flights[attempt.channel_id] = flight
        if interface is not None:
            self._reserved[interface] = attempt.channel_id
        log.info("callback attempt %d (%s, %s) still in Asterisk (%s): followed",
                 attempt.id, attempt.channel_id, whose, channel.get("Application"))
        if channel.get("BridgeId"):
            # the customer answered before the restart
            await self._finish(flight, Outcome.CONNECTED)
