"""The live feed of the work view: ticket changes pushed to the websockets watching ``tickets``.

It follows the tickets' history (``ticket_events``, whose ids only increase) with a
cursor, so it sees every change whoever wrote it: the API, the IVR opening a ticket,
the SLA watch, another server on the same database. A look is taken every
``workview.live_interval`` seconds, and at once when this process commits a ticket event
(an ORM session event), so a change made here is pushed without waiting for the
interval. Each look sends, per ticket
changed, one ``ticket`` message (the ticket as it is now and its latest event) to the
supervisors and admins watching and to the staff who see the ticket
(``ctiserver.workview.model``), and a ``ticket_gone`` message to the staff who saw it
before the change and no longer do (dispatched to another branch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from ctiserver.tickets.infos import TicketEventInfo, TicketInfo, ticket_dict
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import TicketEvent
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.hub import LiveHub
from ctiserver.workview.model import Handover, Holder, audience, earlier
from ctiserver.workview.store import WorkViewStore

log = logging.getLogger(__name__)

TOPIC = "tickets"
#: events read per look
BATCH = 500


#: a session's info key: it flushed a ticket event
_WROTE = "ctiserver.workview.ticket_event"


def _noticed(session: Session, _context: Any) -> None:
    if any(isinstance(obj, TicketEvent) for obj in session.new):
        session.info[_WROTE] = True


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
        tickets: TicketRepository,
        store: WorkViewStore,
        hub: LiveHub,
        *,
        observer: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """``observer(kind, message)`` sees each message as it is handed to the hub (benchmarks)."""
        self._tickets = tickets
        self._store = store
        self._hub = hub
        self._cursor: int | None = None
        self._wake = asyncio.Event()
        self.observer = observer

    @property
    def cursor(self) -> int | None:
        return self._cursor

    async def run(self, interval: float) -> None:
        orm_events.listen(Session, "after_flush", _noticed)
        orm_events.listen(Session, "after_commit", self._committed)
        try:
            while True:
                self._wake.clear()
                await self.look()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._wake.wait()
        finally:
            orm_events.remove(Session, "after_commit", self._committed)
            orm_events.remove(Session, "after_flush", _noticed)

    def _committed(self, session: Session) -> None:
        if session.info.pop(_WROTE, False):
            self._wake.set()

    async def look(self) -> int:
        """Push what changed since the last look; the number of tickets pushed. The first look
        only takes the cursor: what happened before the server started is not news."""
        if self._cursor is None or not self._hub.watchers(TOPIC):
            # nobody watching: nothing to send, and nothing to catch up on later
            self._cursor = await self._store.last_event_id()
            return 0
        events = await self._tickets.events_after(self._cursor, limit=BATCH)
        if not events:
            return 0
        by_ticket: dict[int, list[TicketEventInfo]] = {}
        for event in events:
            by_ticket.setdefault(event.ticket_id, []).append(event)
        tickets = await self._store.tickets(by_ticket)
        watchers = self._hub.watchers(TOPIC)
        places = await self._store.places({user_id for user_id, role in watchers if role == "staff"})
        for ticket_id, changes in by_ticket.items():
            ticket = tickets.get(ticket_id)
            if ticket is not None:
                self._push(ticket, changes, places)
        self._cursor = events[-1].id
        return len(by_ticket)

    def _push(self, ticket: TicketInfo, changes: list[TicketEventInfo], places: Any) -> None:
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
