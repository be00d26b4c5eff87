"""The live feed of the work view: ticket changes pushed to the websockets watching ``tickets``.

A change this process commits comes from the in-process ticket bus
(``ctiserver.tickets.bus``): the ticket as committed and its new events, pushed at once
without reading the database. Changes written elsewhere (another server on the same
database, a script) are caught up from the tickets' history by a live follower of the
ticket-event feed (``ctiserver.tickets.feed``: a cursor of this server's, ids that commit out
of order waited for), every ``tickets.feed_interval`` seconds or when the feed is woken
(``EventFeed.wake``). Each event is
pushed once, by whichever path has it first; a state older than one already pushed for a
ticket is not pushed again. Each push sends, per ticket changed, one ``ticket`` message
(the ticket as it is now and its latest event) to the supervisors and admins watching
and to the staff who see the ticket (``ctiserver.workview.model``), and a
``ticket_gone`` message to the staff who saw it before the change and no longer do
(dispatched to another branch). Staff members' places are cached for ``PLACES_TTL``
seconds (read again at once for a staff member not yet known).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ctiserver.tickets import Committed, EventFeed, TicketEventInfo, TicketInfo, ticket_dict
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.hub import LiveHub
from ctiserver.workview.model import Handover, Holder, Place, audience, earlier
from ctiserver.workview.store import WorkViewStore

log = logging.getLogger(__name__)

TOPIC = "tickets"
#: tickets remembered as pushed (then the older half is forgotten)
BATCH = 500
#: seconds a staff member's department and branch are used before being read again
PLACES_TTL = 5.0
#: seconds an event pushed is remembered (so the other path does not push it again)
REMEMBER = 60.0


def holder_of(ticket: TicketInfo) -> Holder:
    return Holder(ticket.department, ticket.branch_id, ticket.engineer_id)


def change_dict(event: TicketEventInfo) -> dict[str, Any]:
    return {
        "id": event.id, "kind": event.kind, "from": event.from_status, "to": event.status,
        "who": event.actor, "at": event.at.isoformat(timespec="milliseconds"),
    }


class TicketFeed:
    def __init__(
        self,
        feed: EventFeed,
        store: WorkViewStore,
        hub: LiveHub,
        *,
        observer: Callable[[str, dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """The feed's bus brings this process's commits, pushed at once (no bus: the looks
        only). ``observer(kind, message)`` sees each message as it is handed to the hub
        (benchmarks)."""
        self._events = feed.live()
        self._store = store
        self._hub = hub
        self._bus = feed.bus
        self._clock = clock
        self._queue: list[Committed] = []
        self._arrived = asyncio.Event()
        #: event id -> when it was pushed (or found not to be news), by either path
        self._delivered: dict[int, float] = {}
        #: ticket id -> the id of the latest event whose state was pushed
        self._latest: dict[int, int] = {}
        self._places: dict[int, Place | None] = {}
        self._places_read = float("-inf")
        self.observer = observer

    @property
    def cursor(self) -> int | None:
        return self._events.cursor

    def committed(self, change: Committed) -> None:
        """The bus's listener: queued for the feed's task, which is woken."""
        self._queue.append(change)
        self._arrived.set()

    async def run(self, interval: float) -> None:
        """Push what the bus brings at once, and look every ``interval`` seconds (sooner while
        an id that may still commit is waited for) or when the feed is woken."""
        unsubscribe = self._bus.subscribe(self.committed) if self._bus is not None else None
        try:
            while True:
                await self.drain()
                await self.look()
                woken = asyncio.create_task(self._events.wait(interval))
                try:
                    while not woken.done():
                        arrived = asyncio.create_task(self._arrived.wait())
                        await asyncio.wait((arrived, woken), return_when=asyncio.FIRST_COMPLETED)
                        arrived.cancel()
                        await self.drain()
                finally:
                    woken.cancel()
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def drain(self) -> int:
        """Push what the bus brought; the number of tickets pushed."""
        self._arrived.clear()
        pushed = 0
        while self._queue:
            batch, self._queue = self._queue, []
            now = self._clock()
            if self.cursor is None or not self._hub.watchers(TOPIC):
                # nobody watching: not news for whoever watches later either
                self._delivered.update((event.id, now) for change in batch for event in change.events)
                continue
            places = await self._watching_places()
            for change in batch:
                events = [event for event in change.events if event.id not in self._delivered]
                for event in change.events:
                    self._delivered[event.id] = now
                if events and self._newest(change.ticket.id, change.events[-1].id):
                    self._push(change.ticket, events, places)
                    pushed += 1
        return pushed

    async def look(self) -> int:
        """Push what changed since the last look and did not come from the bus; the number of
        tickets pushed. The first look only takes the cursor: what happened before the server
        started is not news."""
        if self.cursor is None or not self._hub.watchers(TOPIC):
            # nobody watching: nothing to send, and nothing to catch up on later
            await self._events.skip_to_end()
            return 0
        events = await self._events.events()
        if not events:
            self._forget()
            return 0
        self._events.advance(events[-1].id)
        now = self._clock()
        by_ticket: dict[int, list[TicketEventInfo]] = {}
        for event in events:
            if event.id not in self._delivered:
                by_ticket.setdefault(event.ticket_id, []).append(event)
            self._delivered[event.id] = now
        self._forget()
        if not by_ticket:
            return 0
        tickets = await self._store.tickets(by_ticket)
        places = await self._watching_places()
        pushed = 0
        for ticket_id, changes in by_ticket.items():
            ticket = tickets.get(ticket_id)
            # read now: as new as the last event read at least
            if ticket is not None and self._newest(ticket_id, changes[-1].id):
                self._push(ticket, changes, places)
                pushed += 1
        return pushed

    def _newest(self, ticket_id: int, event_id: int) -> bool:
        """Whether a state as of ``event_id`` is news for the ticket (and is now its latest)."""
        if self._latest.get(ticket_id, 0) > event_id:
            return False
        self._latest[ticket_id] = event_id
        return True

    def _forget(self) -> None:
        """Drop what neither path can meet again: events behind the cursor, pushed long ago."""
        cursor = self.cursor
        if cursor is None:
            return
        horizon = self._clock() - REMEMBER
        for event_id, at in list(self._delivered.items()):
            if at < horizon and event_id <= cursor:
                del self._delivered[event_id]
        if len(self._latest) > BATCH * 4:
            oldest = sorted(self._latest.items(), key=lambda item: item[1])
            self._latest = dict(oldest[len(oldest) // 2:])

    async def _watching_places(self) -> list[Place]:
        staff = {user_id for user_id, role in self._hub.watchers(TOPIC) if role == "staff"}
        if any(user_id not in self._places for user_id in staff) or (
            self._clock() - self._places_read > PLACES_TTL
        ):
            await self._read_places(staff)
        return [place for user_id in staff if (place := self._places.get(user_id)) is not None]

    async def _read_places(self, staff: Collection[int]) -> None:
        read_at = self._clock()
        found = {place.user_id: place for place in await self._store.places(staff)}
        self._places = {user_id: found.get(user_id) for user_id in staff}
        self._places_read = read_at

    def _push(self, ticket: TicketInfo, changes: Sequence[TicketEventInfo], places: list[Place]) -> None:
        now = holder_of(ticket)
        sees = audience(places, now)
        message = {"type": "ticket", "ticket": ticket_dict(ticket), "event": change_dict(changes[-1])}
        self._hub.to_watchers(TOPIC, message, users=sees, roles=SUPERVISOR_ROLES)
        self._observe("ticket", message)
        before = earlier(now, [Handover(change.kind, change.payload) for change in changes])
        gone = audience(places, before) - sees if before != now else set()
        if gone:
            left = {"type": "ticket_gone", "ticket_id": ticket.id, "number": ticket.number}
            self._hub.to_watchers(TOPIC, left, users=gone)
            self._observe("ticket_gone", left)

    def _observe(self, kind: str, message: dict[str, Any]) -> None:
        if self.observer is not None:
            try:
                self.observer(kind, message)
            except Exception:
                log.exception("the feed's observer failed")
