"""The ticket-event feed: ``ticket_events`` followed by named consumers.

A durable consumer (the return visits, each webhook endpoint, and what comes next) has a
row in ``feed_cursors``: the id of the last event it acted on. A look claims the row (on
PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``: while another server holds it this one
skips the consumer), reads the events after it, keeps back those behind an id that may
still commit (:mod:`ctiserver.tickets.model.gaps`), hands them to the consumer, and moves
the cursor in the claim's transaction only after the consumer's handler returned. Delivery
is at least once: a consumer that must act once per event does so idempotently.

A live follower (the work view: per server, and what happened before it started is not
news) keeps its cursor in memory, and gets this process's commits from the bus itself.

Consumers are woken at once by this process's commits (the in-process ticket bus), by
:meth:`EventFeed.wake`, and every ``tickets.feed_interval`` seconds (the safety poll); while
a gap is waited for, every ``GAP_POLL`` seconds. ``wake`` is the hook for other servers'
commits: with several servers on one PostgreSQL, a ``NOTIFY`` sent with each commit that
writes ticket events (it is delivered only if the transaction commits) and a ``LISTEN`` per
server whose callback calls ``wake``; the rows stay the record, a notification only wakes,
so one lost costs at most the interval. Each server runs every durable consumer: the claim
lets one act at a time, and another takes over at its next look when one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database
from ctiserver.tickets.bus import Committed, TicketBus
from ctiserver.tickets.infos import TicketEventInfo, event_info
from ctiserver.tickets.model.gaps import Gaps, Horizon, has_gap
from ctiserver.tickets.tables import FeedCursor, TicketEvent

log = logging.getLogger(__name__)

#: events read per look
BATCH = 200
#: seconds between looks while a gap is waited for
GAP_POLL = 0.2
#: seconds a gap is held at least on PostgreSQL (model.gaps)
GAP_GRACE = 1.0
#: the longest wait before an event whose handler failed is handed over again
RETRY_MAX = 60.0
#: where a new durable consumer's cursor starts: after the last event written, or before all
STARTS = ("now", "beginning")

_INSERT: dict[str, Callable[[type[FeedCursor]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
_HORIZON = text(
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
    " pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
)

Handler = Callable[[TicketEventInfo], Awaitable[None]]


@dataclass(frozen=True)
class FeedPosition:
    """A durable consumer's cursor as stored."""

    last_event_id: int
    updated_at: dt.datetime


class EventFeed:
    """The feed of one database, for this process's consumers."""

    def __init__(
        self, db: Database, bus: TicketBus | None = None, *, interval: float = 1.0,
        gap_grace: float = GAP_GRACE, batch: int = BATCH,
    ) -> None:
        self.db = db
        self.bus = bus
        #: seconds between the safety looks (``tickets.feed_interval``)
        self.interval = interval
        self.gap_grace = gap_grace
        self.batch = batch
        self._followers: list[_Follower] = []
        self._unsubscribe = bus.subscribe(self._committed) if bus is not None else None

    @property
    def postgres(self) -> bool:
        return self.db.engine.dialect.name == "postgresql"

    def consumer(
        self, name: str, *, start: str = "now", kinds: Collection[str] = (), batch: int | None = None,
    ) -> FeedConsumer:
        """The durable consumer ``name`` (its cursor made at ``start`` the first time);
        ``kinds``: the event kinds :meth:`FeedConsumer.step` hands over (empty: all);
        ``batch``: events read per look (None: the feed's)."""
        if start not in STARTS:
            raise ValueError(f"feed consumer {name}: start must be one of {STARTS}")
        consumer = FeedConsumer(self, name, start, frozenset(kinds), batch or self.batch)
        self._followers.append(consumer)
        return consumer

    def live(self) -> LiveFollower:
        """A follower whose cursor is this process's only, starting at the last event."""
        follower = LiveFollower(self)
        self._followers.append(follower)
        return follower

    def consumers(self) -> list[FeedConsumer]:
        """This process's durable consumers (their backlog is shown in ``/metrics``)."""
        return [follower for follower in self._followers if isinstance(follower, FeedConsumer)]

    def wake(self) -> None:
        """Every consumer looks now (another server committed: a LISTEN/NOTIFY calls this)."""
        for follower in self._followers:
            follower.wake()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _committed(self, _change: Committed) -> None:
        """This process committed events: the durable consumers look now (a live follower
        gets the commit from the bus itself)."""
        for follower in self._followers:
            if isinstance(follower, FeedConsumer):
                follower.wake()

    async def last_event_id(self, session: AsyncSession) -> int:
        return int(await session.scalar(select(func.max(TicketEvent.id))) or 0)

    async def read(
        self, session: AsyncSession, cursor: int, gaps: Gaps, batch: int | None = None,
    ) -> tuple[list[TicketEventInfo], bool]:
        """The events after ``cursor`` that may be acted on, in id order, and whether a full
        batch was read (more may follow at once)."""
        batch = batch or self.batch
        rows = await session.execute(  # rows, not ORM objects: read often, never changed
            select(*TicketEvent.__table__.c).where(TicketEvent.id > cursor).order_by(TicketEvent.id).limit(batch)
        )
        events = [event_info(cast(Any, row)) for row in rows]
        ids = [event.id for event in events]
        horizon: Horizon | None = None
        if self.postgres and has_gap(cursor, ids):
            xmin, xmax = (await session.execute(_HORIZON)).one()
            horizon = Horizon(int(xmin), int(xmax))
        passable = gaps.passable(cursor, ids, time.monotonic(), horizon)
        return events[:passable], len(events) >= batch and passable == len(events)


class _Follower:
    """What every follower has: a wake-up, and its gaps."""

    def __init__(self, feed: EventFeed) -> None:
        self.feed = feed
        self.gaps = Gaps(feed.gap_grace)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    def woken(self) -> bool:
        return self._woken.is_set()

    async def wait(self, seconds: float | None = None) -> bool:
        """Until woken or ``seconds`` (None: the safety interval) have passed, at most
        ``GAP_POLL`` while a gap is waited for; whether it was woken."""
        seconds = self.feed.interval if seconds is None else seconds
        if self.gaps.waiting():
            seconds = min(seconds, GAP_POLL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._woken.wait()
        woken = self._woken.is_set()
        self._woken.clear()
        return woken


class FeedClaim:
    """A durable consumer's cursor, held until the claim's transaction ends, and the events
    after it that may be acted on (of every kind)."""

    def __init__(self, session: AsyncSession, row: FeedCursor, events: list[TicketEventInfo]) -> None:
        self.session = session
        self._row = row
        self.events = events

    @property
    def cursor(self) -> int:
        return self._row.last_event_id

    def move_to(self, event_id: int) -> None:
        """The cursor moved to ``event_id`` when the claim's transaction commits."""
        self._row.last_event_id = event_id
        self._row.updated_at = utcnow()

    async def advance(self, event_id: int) -> None:
        """The cursor moved to ``event_id``, committed (the claim ends)."""
        self.move_to(event_id)
        await self.session.commit()


class FeedConsumer(_Follower):
    def __init__(self, feed: EventFeed, name: str, start: str, kinds: frozenset[str], batch: int) -> None:
        super().__init__(feed)
        self.name = name
        self.start = start
        self.kinds = kinds
        self.batch = batch
        self._prepared = False
        #: the last look read a full batch
        self.more = False

    async def prepare(self) -> int:
        """The consumer's cursor, made at its start if it has none."""
        async with self.feed.db.session() as session:
            start = 0 if self.start == "beginning" else await self.feed.last_event_id(session)
            insert = _INSERT[self.feed.db.engine.dialect.name](FeedCursor)
            await session.execute(insert.values(
                name=self.name, last_event_id=start, updated_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=[FeedCursor.name]))
            await session.commit()
            cursor = await session.scalar(select(FeedCursor.last_event_id).where(FeedCursor.name == self.name))
        self._prepared = True
        return int(cursor or 0)

    async def position(self) -> FeedPosition | None:
        return await feed_position(self.feed.db, self.name)

    async def cursor(self) -> int | None:
        found = await self.position()
        return None if found is None else found.last_event_id

    @contextlib.asynccontextmanager
    async def claim(self) -> AsyncIterator[FeedClaim | None]:
        """The cursor and the events after it; None while another server holds the cursor.
        What the claim does not commit is rolled back."""
        if not self._prepared:
            await self.prepare()
        async with self.feed.db.session() as session:
            query = select(FeedCursor).where(FeedCursor.name == self.name)
            if self.feed.postgres:
                query = query.with_for_update(skip_locked=True)
            row = await session.scalar(query)
            if row is None:
                self.more = False
                yield None
                return
            events, self.more = await self.feed.read(session, row.last_event_id, self.gaps, self.batch)
            yield FeedClaim(session, row, events)

    async def step(self, handle: Handler) -> int:
        """One look: each event of the consumer's kinds after the cursor handed to ``handle``
        in order, then the cursor moved past them (and past the other kinds read); how many
        were handled. When ``handle`` raises, the cursor moves to the event before and the
        exception goes on: that event is handed over again at the next look."""
        async with self.claim() as claim:
            if claim is None:
                return 0
            handled, last = 0, None
            for event in claim.events:
                if not self.kinds or event.kind in self.kinds:
                    try:
                        await handle(event)
                    except Exception:
                        if last is not None:
                            await claim.advance(last)
                        raise
                    handled += 1
                last = event.id
            if last is not None:
                await claim.advance(last)
            return handled

    async def follow(self, handle: Handler) -> None:
        """:meth:`step` for ever: at once while there is more, else when woken or after the
        interval; a failing handler is logged and its event tried again after the interval,
        doubled at each failure in a row up to ``RETRY_MAX`` seconds."""
        await self.prepare()
        failures = 0
        while True:
            try:
                await self.step(handle)
            except Exception:
                failures += 1
                log.exception("feed consumer %s: an event's handler failed (%d in a row)", self.name, failures)
                await asyncio.sleep(min(RETRY_MAX, self.feed.interval * 2.0 ** min(failures - 1, 16)))
                continue
            failures = 0
            if not self.more:
                await self.wait()


class LiveFollower(_Follower):
    """A cursor of this process only: set to the last event by :meth:`skip_to_end`, moved by
    :meth:`advance`."""

    def __init__(self, feed: EventFeed) -> None:
        super().__init__(feed)
        self.cursor: int | None = None

    async def skip_to_end(self) -> None:
        async with self.feed.db.session() as session:
            self.cursor = await self.feed.last_event_id(session)

    async def events(self) -> list[TicketEventInfo]:
        """The events after the cursor that may be acted on (the cursor stays)."""
        if self.cursor is None:
            return []
        async with self.feed.db.session() as session:
            events, _more = await self.feed.read(session, self.cursor, self.gaps)
        return events

    def advance(self, event_id: int) -> None:
        self.cursor = event_id


async def feed_position(db: Database, name: str) -> FeedPosition | None:
    """The durable consumer ``name``'s cursor as stored (None: it has none yet)."""
    async with db.session() as session:
        row = await session.get(FeedCursor, name)
        return None if row is None else FeedPosition(row.last_event_id, row.updated_at)
