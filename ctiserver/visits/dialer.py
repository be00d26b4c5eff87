"""Calling customers for their return visit: the agent's click to call, and the automatic
survey call.

Every attempt is claimed in the database (``VisitRepository.claim``) BEFORE its Originate,
which carries the attempt's ChannelId (also the call's Linkedid, stored on the visit and
noted in the ticket's history). An agent's call rings the agent's phone first; once they
answer, the ``[visit]`` dialplan context dials the customer presenting the hotline's
number, recorded as any call (``U(cti-record)``); the outcome comes from that Dial's end,
or the agent's hangup before it. The automatic call rings the customer; once they answer,
``[visit-survey]`` runs the survey flow over FastAGI (``visit-survey``) in the language
they chose in the IVR, and the digit they press is the score. Only ASCII digits of the
number reach Originate and Dial.

After a restart (``resolve``), an attempt left in flight by this server, and at every
beat of the server's lease one left by a server whose lease ran out (``visits.lease``),
is looked for in Asterisk by its ChannelId (``ctiserver.telephony.outbound``, as the
callbacks' dialler): an agent's call still there is followed; an automatic call still
there is hung up (its survey's server is gone); gone, its outcome is read from the record
Asterisk's dialplan wrote (``model.recorded_outcome``: a customer who answered an agent's
call is never called again). No Originate is sent once the server's lease is about to run
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ctiserver.ivr import HotlineIvr
from ctiserver.settings import Settings
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.telephony.agi.session import AgiSession
from ctiserver.telephony.ami.link import AmiError, AmiLink
from ctiserver.telephony.ami.originate import originate_refusal
from ctiserver.telephony.events import ChannelHungUp, DialEnded, DialStarted, DomainEvent
from ctiserver.telephony.outbound import AttemptWatch, Found
from ctiserver.tickets import Author
from ctiserver.visits.model import (
    Mode,
    VisitOutcome,
    VisitRefused,
    dial_outcome,
    digits_only,
    hangup_outcome,
    recorded_outcome,
)
from ctiserver.visits.service import SYSTEM, VisitService
from ctiserver.visits.views import VisitAttemptInfo, VisitInfo

log = logging.getLogger(__name__)

#: the dialplan contexts (dialplans/hotline.inc.j2)
AGENT_CONTEXT = "visit"
SURVEY_CONTEXT = "visit-survey"
#: an automatic call with no news this long after its ring time is taken as unanswered
SILENCE_GRACE = 30.0


@dataclass
class _Flight:
    attempt: VisitAttemptInfo
    visit: VisitInfo | None
    started: float
    dialled: bool = False
    #: the automatic call reached the survey (its outcome is the survey's)
    surveying: bool = False
    finished: bool = False


class VisitDialer:
    def __init__(
        self, service: VisitService, ami: AmiLink, settings: Settings, hotline: HotlineIvr | None, *,
        clock: Callable[[], float], leases: DiallerLeases | None = None,
    ) -> None:
        """``leases``: this server's dialling lease (None: a server alone)."""
        self._service = service
        self._store = service.store
        self._ami = ami
        self._settings = settings
        self._hotline = hotline
        self._clock = clock
        # an attempt's dialplan starts once the agent (or the customer) answers
        self._watch = AttemptWatch(ami, leases, server=self._store.server, clock=clock,
                                   span=settings.hotline.callback_ring + 60)
        self.link_lost = self._watch.link_lost
        #: ChannelId -> the attempt being followed
        self._flights: dict[str, _Flight] = {}
        self._background: set[asyncio.Task[None]] = set()
        #: told of every Originate sent (tests): the action
        self.on_originate: Callable[[dict[str, Any]], None] | None = None

    # -- placing calls --------------------------------------------------------------------

    async def call_by_agent(self, visit_id: int, extension: str, by: Author) -> VisitInfo:
        """Claim the visit for the agent and ring their phone; VisitRefused, VisitNotFound."""
        channel_id = f"vv-{uuid.uuid4().hex}"
        visit, attempt = await self._store.claim(
            visit_id, self._clock(), mode=Mode.AGENT, agent=extension, channel_id=channel_id
        )
        await self._service.link_call(visit, channel_id, by)
        self._service.changed(visit)
        await self._send(_Flight(attempt, visit, self._clock()), self.agent_action(visit, attempt, extension))
        return visit

    async def tick(self) -> int:
        """Automatic survey calls to the visits due (``visits.auto_call``); how many
        Originates were sent."""
        now = self._clock()
        self._give_up_silent(now)
        sent = 0
        if not self._settings.visits.auto_call or not self._watch.may_originate():
            return sent
        for visit_id in await self._store.due(now):
            try:
                visit, attempt = await self._store.claim(
                    visit_id, now, mode=Mode.AUTO, agent=None, channel_id=f"vs-{uuid.uuid4().hex}"
                )
            except (VisitRefused, LookupError):
                continue  # taken meanwhile (another server, an agent)
            await self._service.link_call(visit, attempt.channel_id, SYSTEM)
            self._service.changed(visit)
            await self._send(_Flight(attempt, visit, now), self.survey_action(visit, attempt))
            sent += 1
        return sent

    async def keep_alive(self) -> None:
        """On every node (an agent's click to call claims attempts on any): this server's
        lease held and renewed, the attempts its previous run left resolved."""
        await self._ami.wait_ready(timeout=3600)
        await self._watch.keep_alive(first=lambda: self.resolve(own=True))

    async def run_forever(self) -> None:
        """The dialling duty, on one node at a time (the lease ``visit-dialer``): the
        automatic calls, and the attempts of servers whose lease ran out resolved."""
        await self._ami.wait_ready(timeout=3600)
        await self._watch.renewed()  # by keep_alive
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch.resolve_forever(self.resolve))
            while True:
                await self.tick()
                await asyncio.sleep(self._settings.visits.interval)

    def agent_action(self, visit: VisitInfo, attempt: VisitAttemptInfo, extension: str) -> dict[str, Any]:
        number = digits_only(visit.number or "")
        return {
            "Action": "Originate",
            "Channel": self._settings.hotline.agent_interface.replace("{extension}", digits_only(extension)),
            "Context": AGENT_CONTEXT,
            "Exten": number,
            "Priority": "1",
            # what the agent's phone shows: whom they call for a return visit
            "CallerID": f'"RV {number}" <{number}>',
            "Timeout": str(self._settings.hotline.callback_ring * 1000),
            "Async": "true",
            "ChannelId": attempt.channel_id,
            "OtherChannelId": f"{attempt.channel_id}-2",
            "Variable": [f"CTI_VISIT={visit.id}", f"CTI_VISIT_ATTEMPT={attempt.id}"],
        }

    def survey_action(self, visit: VisitInfo, attempt: VisitAttemptInfo) -> dict[str, Any]:
        hotline = self._settings.hotline
        number = digits_only(visit.number or "")
        return {
            "Action": "Originate",
            "Channel": hotline.callback_interface.replace("{number}", number),
            "Context": SURVEY_CONTEXT,
            "Exten": "s",
            "Priority": "1",
            "CallerID": f'"{hotline.number}" <{hotline.number}>',
            "Timeout": str(hotline.callback_ring * 1000),
            "Async": "true",
            "ChannelId": attempt.channel_id,
            "Variable": [f"CTI_VISIT={visit.id}", f"CTI_VISIT_ATTEMPT={attempt.id}"],
        }

    async def _send(self, flight: _Flight, action: dict[str, Any]) -> None:
        self._flights[flight.attempt.channel_id] = flight
        log.info("visit %d: attempt %d (%s) %s", flight.attempt.visit_id, flight.attempt.id,
                 flight.attempt.mode, flight.attempt.channel_id)
        if self.on_originate is not None:
            self.on_originate(action)
        refusal = await originate_refusal(self._ami, action) if self._watch.may_originate() \
            else "not sent: this server's dialling lease is running out"
        if refusal is not None:
            log.warning("visit %d: %s", flight.attempt.visit_id, refusal)
            await self._finish(flight, VisitOutcome.FAILED)

    # -- following attempts ---------------------------------------------------------------

    def handle(self, event: DomainEvent) -> None:
        """Typed telephony events (``core.follow``) of the calls placed."""
        flight = self._flights.get(getattr(event, "uniqueid", ""))
        if flight is None:
            return
        if isinstance(event, DialStarted):
            flight.dialled = True
        elif isinstance(event, DialEnded):
            flight.dialled = True
            self._spawn(self._finish(flight, dial_outcome(event.status)))
        elif isinstance(event, ChannelHungUp):
            if flight.attempt.mode == Mode.AUTO.value:
                if not flight.surveying:
                    self._spawn(self._finish(flight, hangup_outcome(event.cause)))
            else:
                # no Dial: the agent did not answer; a Dial that ended said its outcome
                self._spawn(self._finish(flight, VisitOutcome.FAILED if flight.dialled else VisitOutcome.AGENT_MISSED))

    async def agi_survey(self, session: AgiSession) -> None:
        """FastAGI ``visit-survey``: the customer answered the automatic call; the survey
        flow's digit is the visit's score."""
        flight = self._flights.get(session.uniqueid or "")
        if flight is None or flight.visit is None or self._hotline is None:
            log.warning("visit survey on %s: no such attempt in flight", session.uniqueid)
            return
        flight.surveying = True
        name = self._settings.visits.survey_flow
        flow = self._hotline.registry.get(name)
        score: int | None = None
        if flow is None:
            log.error("visit %d: no flow %r in force for the survey", flight.attempt.visit_id, name)
        else:
            variables = {"language": flight.visit.language} if flight.visit.language else {}
            variables["visit_id"] = str(flight.visit.id)
            run = await self._hotline.run_flow(session, flow, variables)
            given = (run.variables.get("survey_score") if run is not None else None) or ""
            score = int(given) if given in ("1", "2", "3", "4", "5") else None
        await self._finish(flight, VisitOutcome.ANSWERED if score is not None else VisitOutcome.NO_SCORE)
        if score is not None:
            try:
                await self._service.record(flight.attempt.visit_id, score, None, by=SYSTEM)
            except (VisitRefused, LookupError) as exc:
                log.warning("visit %d: the survey's score %d not recorded: %s", flight.attempt.visit_id, score, exc)

    def _give_up_silent(self, now: float) -> None:
        limit = self._settings.hotline.callback_ring + SILENCE_GRACE
        for flight in list(self._flights.values()):
            if flight.attempt.mode == Mode.AUTO.value and not flight.surveying and now - flight.started > limit:
                self._spawn(self._finish(flight, VisitOutcome.NO_ANSWER))

    async def settled(self) -> None:
        """Return once the outcomes being written (after the events handled so far) are stored."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish(self, flight: _Flight, outcome: VisitOutcome) -> None:
        if flight.finished:
            return
        flight.finished = True
        self._flights.pop(flight.attempt.channel_id, None)
        try:
            visit = await self._store.finish(flight.attempt.id, outcome, self._clock())
        except Exception:
            log.exception("visit attempt %d: the outcome %s was not recorded", flight.attempt.id, outcome)
            return
        if visit is not None:
            log.info("visit %d: attempt %d %s -> %s", visit.id, flight.attempt.id, outcome, visit.status)
            self._service.changed(visit)

    # -- after a restart, after another server's death ----------------------------------

    async def resolve(self, *, own: bool = False) -> None:
        """Attempts no live server follows (``own``: this server's, left by its previous
        run; always: those of servers whose lease ran out): followed (an agent's call) or
        hung up (an automatic one) if Asterisk still has their channel, else finished from
        Asterisk's record of them; never dialled again here."""
        for attempt, found in await self._watch.orphans(await self._store.in_flight(), self._flights, own=own):
            flight = _Flight(attempt, await self._store.get(attempt.visit_id), self._clock())
            whose = "this server's" if attempt.server == self._store.server else f"dead server {attempt.server}'s"
            if found.channel is None:
                outcome = recorded_outcome(attempt.mode, found.dialled, found.status)
                log.warning("visit attempt %d (%s, %s) ended unwatched: %s by Asterisk's record (%s)",
                            attempt.id, attempt.channel_id, whose, outcome, found.record)
                await self._finish(flight, outcome)
            else:
                await self._follow(flight, found, whose)

    def link_back(self) -> None:
        """The AMI link is back (``AmiLink.on_ready``): the attempts whose end its outage hid
        are finished from their records."""
        self._spawn(self._watch.after_outage(lambda: [f.attempt for f in self._flights.values()], self._unseen))

    async def _unseen(self, attempt: VisitAttemptInfo, found: Found) -> None:
        if (flight := self._flights.get(attempt.channel_id)) is not None and not flight.surveying:
            await self._finish(flight, recorded_outcome(attempt.mode, found.dialled, found.status))

    async def _follow(self, flight: _Flight, found: Found, whose: str) -> None:
        channel = found.channel or {}
        attempt = flight.attempt
        log.info("visit attempt %d (%s, %s) still in Asterisk (%s)", attempt.id, attempt.channel_id, whose,
                 channel.get("Application"))
        flight.dialled = channel.get("Application") == "Dial"
        self._flights[attempt.channel_id] = flight
        if attempt.mode == Mode.AGENT.value and channel.get("BridgeId"):
            await self._finish(flight, VisitOutcome.ANSWERED)
        elif attempt.mode == Mode.AUTO.value:
            # its survey (or the one about to start) belongs to the server that stopped:
            # hung up; answered, its score is lost
            flight.surveying = True
            answered = channel.get("ChannelStateDesc") == "Up"
            await self._finish(flight, VisitOutcome.NO_SCORE if answered else VisitOutcome.NO_ANSWER)
            with contextlib.suppress(AmiError, TimeoutError, OSError):
                await self._ami.send_action({"Action": "Hangup", "Channel": str(channel.get("Channel", ""))})
