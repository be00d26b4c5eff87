"""Return visits and the tickets: the feed that makes a visit of every completion, and what a
visit's score does to its ticket.

The visits are the ticket-event feed's consumer ``visits`` (``ctiserver.tickets.feed``): for
a ``completed`` event it makes the visit (once: the event is unique on the visit) and moves
the ticket completed -> return_visit, and only then does the feed advance the cursor; a
server that stops between the two is handed the event again at start and finds the visit
made. A ticket closed, reopened or cancelled by someone else meanwhile cancels the visits
it still owed.

A score (the agent's form or the automatic call's survey) makes the visit ``done`` and
moves the ticket: closed at ``close_score`` or more, reopened below, and at
``complaint_score`` or less a complaint ticket is opened too, linked to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from ctiserver.calls import CallRow
from ctiserver.customers import CustomerPhone
from ctiserver.ivr import IvrRun
from ctiserver.storage.database import Database
from ctiserver.tickets import Author, EventFeed, TicketEventInfo, TicketInfo, TicketRepository
from ctiserver.tickets.model.workflow import TicketError
from ctiserver.visits.model import VisitPolicy, VisitRefused, verdict
from ctiserver.visits.store import VisitNotFound, VisitRepository
from ctiserver.visits.views import VisitInfo

log = logging.getLogger(__name__)

#: the visits' consumer of the ticket-event feed (its cursor's name)
CONSUMER = "visits"
#: who the ticket's history names for the visits' own changes
ACTOR = "visits"
SYSTEM = Author(None, ACTOR)
#: the events the feed reads: a completion, or the ticket moving on without its visit
FEED_KINDS = ("completed", "closed", "reopened", "cancelled")


class VisitService:
    def __init__(
        self, db: Database, store: VisitRepository, tickets: TicketRepository, feed: EventFeed, *,
        clock: Callable[[], float], changed: Callable[[VisitInfo], None] = lambda visit: None,
    ) -> None:
        self._db = db
        self.store = store
        self.tickets = tickets
        #: every completion from the beginning owes a visit
        self.consumer = feed.consumer(CONSUMER, start="beginning", kinds=FEED_KINDS)
        self._clock = clock
        #: told of every change of a visit (the desks' push)
        self.changed = changed

    @property
    def policy(self) -> VisitPolicy:
        return self.store.policy

    # -- the feed -------------------------------------------------------------------------

    async def feed(self) -> int:
        """One look at the feed: each event of ``FEED_KINDS`` after the cursor acted on, the
        cursor advanced; how many were acted on."""
        return await self.consumer.step(self.act)

    async def follow(self) -> None:
        """The feed, for ever (the ``visit-feed`` task)."""
        await self.consumer.follow(self.act)

    async def cursor(self) -> int:
        """The id of the last event acted on (0: none yet)."""
        return await self.consumer.cursor() or 0

    async def act(self, event: TicketEventInfo) -> None:
        """What an event of ``FEED_KINDS`` does; idempotent (the feed may hand it over again)."""
        if event.kind == "completed":
            await self._completed(event)
        elif event.actor != ACTOR:
            for visit in await self.store.cancel_open(event.ticket_id, self._clock()):
                log.info("visit %d cancelled: ticket %d %s", visit.id, event.ticket_id, event.kind)
                self.changed(visit)

    async def _completed(self, event: TicketEventInfo) -> None:
        ticket = await self.tickets.get(event.ticket_id)
        if ticket is None:
            return
        number, language = await self._reach(ticket)
        visit, new = await self.store.create(
            event_id=event.id, ticket_id=ticket.id, customer_id=ticket.customer_id, number=number,
            language=language, now=self._clock(),
        )
        if new:
            log.info("visit %d owed for ticket %s (to %s)", visit.id, ticket.number, number or "no number")
            self.changed(visit)
        if ticket.status == "completed":
            try:
                await self.tickets.move(ticket.id, "return_visit", by=SYSTEM, note=None,
                                        payload={"visit_id": visit.id})
            except TicketError as exc:
                log.warning("ticket %s: not moved to return_visit: %s", ticket.number, exc)

    async def _reach(self, ticket: TicketInfo) -> tuple[str | None, str | None]:
        """The number to call (the call that opened the ticket, the number the IVR noted, the
        customer's first phone) and the language chosen in the IVR."""
        number: str | None = None
        language: str | None = None
        async with self._db.session() as session:
            if ticket.call_linkedid:
                number = await session.scalar(
                    select(CallRow.caller_number).where(CallRow.linkedid == ticket.call_linkedid)
                )
                runs = await session.scalars(
                    select(IvrRun.variables).where(IvrRun.call_linkedid == ticket.call_linkedid)
                    .order_by(IvrRun.id.desc())
                )
                language = next((str(v["language"]) for v in runs if v and v.get("language")), None)
            if not number:
                number = str(ticket.fields.get("caller_number") or "") or None
            if not number and ticket.customer_id is not None:
                number = await session.scalar(
                    select(CustomerPhone.number).where(CustomerPhone.customer_id == ticket.customer_id)
                    .order_by(CustomerPhone.id).limit(1)
                )
        return number, language if language in ("zh", "en") else None

    # -- calls and scores ---------------------------------------------------------------

    async def link_call(self, visit: VisitInfo, linkedid: str, by: Author) -> None:
        """The call placed for the visit, in the ticket's history."""
        try:
            await self.tickets.add_note(visit.ticket_id, f"return visit {visit.id}: call {linkedid}", by=by)
        except TicketError as exc:
            log.warning("visit %d: the call %s is not in the ticket's history: %s", visit.id, linkedid, exc)

    async def record(self, visit_id: int, score: int, remarks: str | None, *, by: Author) -> VisitInfo:
        """The score and remarks: the visit done, its ticket closed or reopened (and a
        complaint opened). VisitRefused if the visit or its ticket is not waiting for it."""
        visit = await self.store.get(visit_id)
        if visit is None:
            raise VisitNotFound(f"no visit {visit_id}")
        ticket = await self.tickets.get(visit.ticket_id)
        if ticket is None or ticket.status != "return_visit":
            status = "gone" if ticket is None else ticket.status
            raise VisitRefused(f"ticket {visit.ticket_number} is {status}, not waiting for its return visit")
        decided = verdict(score, self.policy)
        visit = await self.store.record_result(visit_id, score, remarks, user_id=by.user_id, now=self._clock())
        payload = {"visit_id": visit.id, "score": score, "call_linkedid": visit.call_linkedid}
        try:
            await self.tickets.move(ticket.id, decided.ticket_status, note=remarks or None, by=by, payload=payload)
        except TicketError as exc:
            log.warning("visit %d: ticket %s not %s: %s", visit.id, ticket.number, decided.ticket_status, exc)
        if decided.complaint:
            complaint = await self.tickets.open(
                "complaint", f"回访不满意（{score}分）：{ticket.number}",
                {"about": "service", "severity": "high", "related_ticket": ticket.number},
                customer_id=ticket.customer_id, call_linkedid=visit.call_linkedid,
                source="ivr" if by.user_id is None else "agent", user_id=by.user_id, actor=by.actor,
            )
            visit = await self.store.set_complaint(visit.id, complaint.id)
            log.info("visit %d scored %d: complaint %s opened", visit.id, score, complaint.number)
        log.info("visit %d of ticket %s scored %d: ticket %s", visit.id, ticket.number, score, decided.ticket_status)
        self.changed(visit)
        return visit
