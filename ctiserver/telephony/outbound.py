"""What became of an outbound attempt (a callback, a return visit) that no server saw end.

Every attempt is claimed in the database with the ChannelId its Originate carries. The
dialplan contexts that dial a customer for the server write the attempt's outcome into
Asterisk's own database (AstDB, ``func_db``), keyed by that ChannelId
(``dialplans/hotline.inc.j2``, ``[cti-attempt-dial]``): ``dial`` just before the
customer's Dial, ``answer`` as the customer answers (Dial's ``U`` gosub, so a customer
reached stays known as reached even if Asterisk itself stops mid-call), then
``end:<DIALSTATUS>`` from the channel's hangup handler; an automatic call the customer
answered writes ``answer``. Asterisk writes it whether or not
a server is connected, and it survives a restart of Asterisk too.

Why AstDB rather than CDR/CEL in PostgreSQL (``cdr_pgsql``): it works the same on SQLite
(the one-server default) and on PostgreSQL, needs no database credentials in Asterisk, is
read over the AMI link the server already holds (``DBGet``, the ``reporting`` privilege
it already has), and is keyed by the attempt's own id instead of being matched from a
call log. Records live under one family per UTC day (``cti-attempt-YYYYMMDD``) and the
dialplan drops the family of a week back as it writes (``DBdeltree``): the server needs no
write privilege on AstDB.

``Tracker.look`` answers, for each attempt: its channel if Asterisk still has it (it is
followed from its events), else its record. The rules each feature draws from it are
in ``Found``. ``AttemptWatch`` is what both diallers (callbacks, return visits) share: the
server's liveness lease (``ctiserver.storage.dialler_leases``, renewed on every server that
claims attempts: ``keep_alive``), the attempts it must resolve (its own left by a previous
run, at start; those of servers whose lease ran out, at every beat of the node holding the
dialling duty: ``resolve_forever``), and whether it may still send an Originate (not once
its own lease is about to run out: another server may be resolving its attempts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from panoramisk.message import Message

from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.telephony.ami.actions import AmiActionFailed, AmiError
from ctiserver.telephony.ami.link import AmiLink

log = logging.getLogger(__name__)

#: the AstDB families' prefix (dialplans/hotline.inc.j2)
RECORD_FAMILY = "cti-attempt"
#: days a record is kept by the dialplan (it drops the family of the 8th day back)
RECORD_DAYS = 7
#: leeway for clocks (the server's and Asterisk's) when naming the days to look in
_CLOCK_LEEWAY = 300.0


@dataclass(frozen=True)
class AttemptRecord:
    """What Asterisk wrote for an attempt."""

    #: the dialplan reached the customer's Dial (or the automatic call was answered)
    dialled: bool
    #: Dial's DIALSTATUS once the leg ended ("" if it ended before the Dial); None when no
    #: end was written (Asterisk stopped mid-call)
    status: str | None

    @property
    def answered(self) -> bool:
        return self.status == "ANSWER"


def parse_record(value: str) -> AttemptRecord | None:
    """``dial``, ``answer`` or ``end:<DIALSTATUS>``; None for anything else."""
    value = value.strip()
    if value == "dial":
        return AttemptRecord(True, None)
    if value == "answer":
        return AttemptRecord(True, "ANSWER")
    if value.startswith("end:"):
        status = value.removeprefix("end:").strip().upper()
        return AttemptRecord(bool(status), status)
    return None


def record_days(started: float, span: float) -> list[str]:
    """The families an attempt started at ``started`` may have its record in: the UTC
    days from its start to ``span`` seconds later (when its dialplan may run)."""
    first = dt.datetime.fromtimestamp(started - _CLOCK_LEEWAY, dt.UTC).date()
    last = dt.datetime.fromtimestamp(started + span + _CLOCK_LEEWAY, dt.UTC).date()
    days: list[str] = []
    day = first
    while day <= last:
        days.append(f"{RECORD_FAMILY}-{day:%Y%m%d}")
        day += dt.timedelta(days=1)
    return days


@dataclass(frozen=True)
class Found:
    """An attempt as Asterisk knows it. ``channel``: still there (follow it); else
    ``record``: what its dialplan wrote, or None: its dialplan never reached the
    customer's Dial (the agent did not answer, the customer's phone never answered an
    automatic call, or the Originate never reached Asterisk), unless the attempt is older
    than the records are kept (``expired``)."""

    channel: Message | None
    record: AttemptRecord | None
    expired: bool = False

    @property
    def dialled(self) -> bool:
        """Whether the customer may have been dialled (an attempt with no record older
        than Asterisk keeps records: may have been)."""
        return self.record.dialled if self.record is not None else self.expired

    @property
    def status(self) -> str | None:
        """Dial's DIALSTATUS once the attempt ended, if written."""
        return self.record.status if self.record is not None else None


@dataclass(frozen=True)
class Pending:
    """An attempt to look for: its ChannelId and when it was claimed (epoch seconds)."""

    channel_id: str
    started: float


class Tracker:
    """Looks attempts up in Asterisk: their channels, then their records."""

    def __init__(self, ami: AmiLink, *, span: float) -> None:
        """``span``: the longest an attempt's dialplan may start after its claim (the
        agent's ring time, a placeholder's wait in a queue)."""
        self._ami = ami
        self._span = span

    async def channels(self) -> dict[str, Message]:
        """Asterisk's channels by Uniqueid."""
        listing = await self._ami.send_list_action({"Action": "CoreShowChannels"})
        return {str(m.get("Uniqueid")): m for m in listing if m.get("Event") == "CoreShowChannel"}

    async def record(self, attempt: Pending) -> AttemptRecord | None:
        """Its record, or None if Asterisk has none; AmiError when Asterisk was not asked."""
        for family in record_days(attempt.started, self._span):
            try:
                listing = await self._ami.send_list_action(
                    {"Action": "DBGet", "Family": family, "Key": attempt.channel_id}
                )
            except AmiActionFailed as exc:
                if "not found" in str(exc).lower():
                    continue
                raise
            for message in listing:
                if message.get("Event") == "DBGetResponse":
                    found = parse_record(str(message.get("Val", "")))
                    if found is None:
                        log.warning("attempt %s: unreadable record %r", attempt.channel_id, message.get("Val"))
                    return found
        return None

    async def look(self, attempts: Sequence[Pending], now: float) -> dict[str, Found]:
        """Each attempt's channel or record. Channels are listed first: an attempt whose
        channel is gone has already had its record written by its hangup handler."""
        if not attempts:
            return {}
        alive = await self.channels()
        found: dict[str, Found] = {}
        for attempt in attempts:
            channel = alive.get(attempt.channel_id)
            if channel is not None:
                found[attempt.channel_id] = Found(channel, None)
                continue
            expired = now - attempt.started > RECORD_DAYS * 86400
            found[attempt.channel_id] = Found(None, await self.record(attempt), expired)
        return found


class Claimed(Protocol):
    """An attempt row as the diallers' stores give it."""

    @property
    def channel_id(self) -> str: ...
    @property
    def server(self) -> str | None: ...
    @property
    def started_at(self) -> dt.datetime: ...


A = TypeVar("A", bound=Claimed)


class AttemptWatch:
    """One dialler's lease and the attempts it must resolve from Asterisk."""

    def __init__(
        self, ami: AmiLink, leases: DiallerLeases | None, *, server: str, span: float,
        clock: Callable[[], float], beat: float = 5.0,
    ) -> None:
        """``leases`` None: no lease is kept (a server alone: it may always dial, and an
        attempt of any other server is a dead one's); ``beat``: seconds between looks
        for dead servers' attempts then."""
        self.tracker = Tracker(ami, span=span)
        self._leases = leases
        self.server = server
        self._clock = clock
        #: this server's attempts claimed before this are a previous run's
        self.since = clock()
        self._beat = leases.seconds / 3 if leases is not None else beat
        #: until when this server's lease is known to run
        self._held_until = float("inf") if leases is None else 0.0
        #: when the AMI link was lost, until the attempts followed then are looked up
        self._lost_at: float | None = None
        #: set once the lease was first renewed
        self._renewed = asyncio.Event()
        if leases is None:
            self._renewed.set()

    async def renew(self) -> bool:
        """Renew the lease; False (logged) when the database could not be reached."""
        if self._leases is None:
            return True
        now = self._clock()
        try:
            await self._leases.renew(now)
        except Exception:  # a database outage: tried again at the next beat
            log.warning("dialler lease of %s not renewed", self.server, exc_info=True)
            return False
        self._held_until = now + self._leases.seconds
        self._renewed.set()
        return True

    async def renewed(self) -> None:
        """Once this server's lease has been renewed (by ``hold``, on another task)."""
        await self._renewed.wait()

    async def hold(self) -> None:
        """Renew until the lease is held (the database may be down at start)."""
        for _ in itertools.count():
            if await self.renew():
                return
            await asyncio.sleep(1.0)

    def may_originate(self) -> bool:
        """Whether this server's lease still runs for a third of its length: past that,
        another server may soon take its attempts for a dead server's."""
        if self._leases is None:
            return True
        return self._clock() < self._held_until - self._leases.seconds / 3

    async def orphans(
        self, attempts: Sequence[A], following: Collection[str], *, own: bool
    ) -> list[tuple[A, Found]]:
        """Of the attempts in flight in the database, those no live server follows and
        this one does not follow yet (``own``: this server's too, left by its previous
        run, claimed before ``since``), each with what Asterisk knows of it. AmiError or
        a database error when they could not be looked up (tried again later)."""
        now = self._clock()
        live = await self._leases.live(now) if self._leases is not None else {self.server}
        mine = [
            a for a in attempts if a.channel_id not in following and (
                (own and a.server == self.server and a.started_at.timestamp() <= self.since)
                or (a.server != self.server and a.server not in live)
            )
        ]
        if not mine:
            return []
        found = await self.tracker.look([Pending(a.channel_id, a.started_at.timestamp()) for a in mine], now)
        return [(a, found[a.channel_id]) for a in mine]

    async def keep_alive(self, first: Callable[[], Awaitable[None]]) -> None:
        """Hold the lease and renew it every third of its length, forever: on every server
        that claims attempts (an agent's click to call, a caller's place kept in a queue),
        whether or not it holds the dialling duty, so that no other server takes its
        attempts for a dead one's while it follows them. ``first`` (the attempts this
        server's previous run left) runs once the lease is held, tried again at each beat
        until it succeeds."""
        await self.hold()
        pending: Callable[[], Awaitable[None]] | None = first
        while True:
            if pending is not None and await self._resolved(pending):
                pending = None
            await asyncio.sleep(self._beat)
            await self.renew()

    async def resolve_forever(self, resolve: Callable[[], Awaitable[None]]) -> None:
        """``resolve`` (the attempts of servers whose lease ran out) every third of the
        lease, while this server's own lease is known to run: the dialling duty's."""
        while True:
            await asyncio.sleep(self._beat)
            if self._clock() < self._held_until:  # else cut off from the database
                await self._resolved(resolve)

    def link_lost(self) -> None:
        """The AMI link is down (``AmiLink.on_lost``): what the attempts followed did meanwhile
        is not seen."""
        if self._lost_at is None:
            self._lost_at = self._clock()

    async def after_outage(
        self, followed: Callable[[], Sequence[A]], ended: Callable[[A, Found], Awaitable[None]]
    ) -> None:
        """Once the AMI link is back after an outage: of the attempts ``followed``, those
        claimed before it began whose channel is gone ended unseen; ``ended`` gets each,
        with Asterisk's record of it."""
        lost_at, self._lost_at = self._lost_at, None
        if lost_at is None:
            return

        async def look() -> None:
            before = [a for a in followed() if a.started_at.timestamp() <= lost_at]
            if not before:
                return
            found = await self.tracker.look([Pending(a.channel_id, a.started_at.timestamp()) for a in before],
                                            self._clock())
            for attempt in before:
                if found[attempt.channel_id].channel is None:
                    log.warning("attempt %s ended while the AMI link was down: %s", attempt.channel_id,
                                found[attempt.channel_id].record)
                    await ended(attempt, found[attempt.channel_id])

        await self._resolved(look)

    @staticmethod
    async def _resolved(resolve: Callable[[], Awaitable[None]]) -> bool:
        try:
            await resolve()
        except (AmiError, TimeoutError, OSError):
            log.warning("attempts left in flight not looked up (Asterisk)", exc_info=True)
        except Exception:
            log.exception("attempts left in flight not resolved")
        else:
            return True
        return False
