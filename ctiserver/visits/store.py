"""Return visits and their attempts in SQL.

A visit is made once per completion (its ``completed`` event is unique). An attempt is
claimed (the visit ``calling``, the attempt row with the ChannelId the Originate will
carry) and committed before the Originate is sent, so a server that crashes finds it and
asks Asterisk instead of dialling again. On PostgreSQL claims lock the visit's row
(``FOR UPDATE SKIP LOCKED`` for the automatic calls): two servers never claim one visit.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from ctiserver.customers import Customer
from ctiserver.storage.base import from_epoch
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket
from ctiserver.tickets.model.visibility import TicketViewer
from ctiserver.visits.model import (
    OPEN,
    Mode,
    VisitOutcome,
    VisitPolicy,
    VisitRefused,
    VisitStatus,
    after_attempt,
    check_call,
    check_result,
)
from ctiserver.visits.tables import Visit, VisitAttempt
from ctiserver.visits.views import VisitAttemptInfo, VisitInfo, attempt_info, visit_info
from ctiserver.visits.visibility import visits_visible_to


class VisitNotFound(LookupError):
    """No such visit."""


def _listing() -> Select[Visit, str, str]:
    return (
        select(Visit, Ticket.number, Customer.name)
        .join(Ticket, Ticket.id == Visit.ticket_id)
        .outerjoin(Customer, Customer.id == Visit.customer_id)
    )


class VisitRepository:
    def __init__(self, db: Database, policy: VisitPolicy | None = None, *, server: str = "") -> None:
        self._db = db
        self.policy = policy or VisitPolicy()
        #: written on the attempts this server claims
        self.server = server

    @property
    def _postgres(self) -> bool:
        return self._db.engine.dialect.name == "postgresql"

    # -- made by the feed ------------------------------------------------------------------

    async def create(
        self, *, event_id: int, ticket_id: int, customer_id: int | None, number: str | None,
        language: str | None, now: float,
    ) -> tuple[VisitInfo, bool]:
        """The visit owed for the completion ``event_id``: made now, or the one made before
        (a feed read again after a restart); (the visit, whether it is new)."""
        async with self._db.session() as session:
            found = await session.scalar(select(Visit.id).where(Visit.completed_event_id == event_id))
        if found is None:
            try:
                async with self._db.session() as session:
                    row = Visit(
                        ticket_id=ticket_id, completed_event_id=event_id, customer_id=customer_id,
                        number=number, language=language, status=VisitStatus.PENDING.value, attempts=0,
                        next_at=from_epoch(now), created_at=from_epoch(now),
                    )
                    session.add(row)
                    await session.commit()
                    found, new = row.id, True
            except IntegrityError:  # another server made it meanwhile
                async with self._db.session() as session:
                    found = await session.scalar(select(Visit.id).where(Visit.completed_event_id == event_id))
                new = False
        else:
            new = False
        visit = await self.get(int(found)) if found is not None else None
        if visit is None:
            raise VisitNotFound(f"the visit of event {event_id} vanished")
        return visit, new

    # -- reading --------------------------------------------------------------------------

    async def get(self, visit_id: int) -> VisitInfo | None:
        found = await self._select(_listing().where(Visit.id == visit_id))
        return found[0] if found else None

    async def search(
        self, *, status: str | None = None, ticket_id: int | None = None, limit: int = 200,
        viewer: TicketViewer | None = None,
    ) -> list[VisitInfo]:
        """Pending first by when they are due, then the others newest first; only those
        ``viewer`` may see (None: all)."""
        query = _listing()
        if viewer is not None:
            query = query.where(visits_visible_to(viewer))
        if status:
            query = query.where(Visit.status == status)
        if ticket_id is not None:
            query = query.where(Visit.ticket_id == ticket_id)
        return await self._select(query.order_by(Visit.next_at.is_(None), Visit.next_at, Visit.id.desc()).limit(limit))

    async def for_call(self, linkedid: str) -> VisitInfo | None:
        found = await self._select(_listing().where(Visit.call_linkedid == linkedid))
        return found[0] if found else None

    async def attempts(self, visit_id: int) -> list[VisitAttemptInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(VisitAttempt).where(VisitAttempt.visit_id == visit_id).order_by(VisitAttempt.id)
            )
            return [attempt_info(row) for row in rows]

    async def in_flight(self) -> list[VisitAttemptInfo]:
        """Attempts claimed and not ended: after a crash, each is resolved from Asterisk."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(VisitAttempt).where(VisitAttempt.ended_at.is_(None)).order_by(VisitAttempt.id)
            )
            return [attempt_info(row) for row in rows]

    async def due(self, now: float, limit: int = 20) -> list[int]:
        """Pending visits due at ``now`` with a number, oldest due first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Visit.id).where(
                    Visit.status == VisitStatus.PENDING.value, Visit.next_at <= from_epoch(now),
                    Visit.number.is_not(None),
                ).order_by(Visit.next_at, Visit.id).limit(limit)
            )
            return [int(row) for row in rows]

    async def _select(self, query: Select[Visit, str, str]) -> list[VisitInfo]:
        async with self._db.session() as session:
            rows = await session.execute(query)
            return [visit_info(visit, number, name) for visit, number, name in rows]

    # -- attempts -------------------------------------------------------------------------

    async def claim(
        self, visit_id: int, now: float, *, mode: Mode, agent: str | None, channel_id: str
    ) -> tuple[VisitInfo, VisitAttemptInfo]:
        """The visit ``calling`` with a new attempt carrying ``channel_id``, committed:
        VisitNotFound, or VisitRefused when it is not callable, has no number, has an attempt
        under way, or (automatic) is not due any more."""
        async with self._db.session() as session:
            query = select(Visit).where(Visit.id == visit_id)
            if self._postgres:
                query = query.with_for_update(skip_locked=mode is Mode.AUTO)
            row = await session.scalar(query)
            if row is None:
                raise VisitNotFound(f"no visit {visit_id}")
            check_call(row.status)
            if not row.number:
                raise VisitRefused(f"visit {visit_id} has no number to call")
            if mode is Mode.AUTO and (row.status != VisitStatus.PENDING.value or row.next_at is None
                                      or row.next_at > from_epoch(now)):
                raise VisitRefused(f"visit {visit_id} is not due")
            ringing = await session.scalar(
                select(VisitAttempt.id).where(VisitAttempt.visit_id == visit_id, VisitAttempt.ended_at.is_(None))
            )
            if ringing is not None:
                raise VisitRefused(f"visit {visit_id} is being called")
            row.status, row.next_at, row.call_linkedid = VisitStatus.CALLING.value, None, channel_id
            if agent:
                row.agent = agent
            attempt = VisitAttempt(
                visit_id=visit_id, mode=mode.value, started_at=from_epoch(now), agent=agent,
                channel_id=channel_id, server=self.server or None,
            )
            session.add(attempt)
            await session.commit()
            claimed = attempt_info(attempt)
        visit = await self.get(visit_id)
        if visit is None:
            raise VisitNotFound(f"no visit {visit_id}")
        return visit, claimed

    async def finish(self, attempt_id: int, outcome: VisitOutcome, now: float) -> VisitInfo | None:
        """The attempt's outcome, and what it makes of the visit; once only (None if the
        attempt had already ended or does not exist)."""
        async with self._db.session() as session:
            attempt = await session.get(VisitAttempt, attempt_id, with_for_update=self._postgres)
            if attempt is None or attempt.ended_at is not None:
                return None
            attempt.ended_at, attempt.outcome = from_epoch(now), outcome.value
            row = await session.get(Visit, attempt.visit_id, with_for_update=self._postgres)
            if row is not None and row.status == VisitStatus.CALLING.value:
                then = after_attempt(outcome, row.attempts, now, self.policy)
                row.status, row.attempts = then.status.value, then.attempts
                row.next_at = None if then.next_at is None else from_epoch(then.next_at)
                if then.status is VisitStatus.UNREACHED:
                    row.finished_at = from_epoch(now)
            visit_id = attempt.visit_id
            await session.commit()
        return await self.get(visit_id)

    async def record_result(
        self, visit_id: int, score: int, remarks: str | None, *, user_id: int | None, now: float
    ) -> VisitInfo:
        """The customer's score: the visit ``done`` (VisitRefused if it is not scorable)."""
        async with self._db.session() as session:
            row = await session.get(Visit, visit_id, with_for_update=self._postgres)
            if row is None:
                raise VisitNotFound(f"no visit {visit_id}")
            check_result(row.status, score)
            row.status, row.score, row.remarks = VisitStatus.DONE.value, score, remarks
            row.user_id, row.next_at, row.finished_at = user_id, None, from_epoch(now)
            await session.commit()
        return await self._found(visit_id)

    async def set_complaint(self, visit_id: int, ticket_id: int) -> VisitInfo:
        async with self._db.session() as session:
            row = await session.get(Visit, visit_id)
            if row is None:
                raise VisitNotFound(f"no visit {visit_id}")
            row.complaint_ticket_id = ticket_id
            await session.commit()
        return await self._found(visit_id)

    async def cancel_open(self, ticket_id: int, now: float) -> list[VisitInfo]:
        """The ticket moved on without its visits: those still owed are cancelled."""
        async with self._db.session() as session:
            rows = list(await session.scalars(
                select(Visit).where(Visit.ticket_id == ticket_id, Visit.status.in_([s.value for s in OPEN]))
            ))
            for row in rows:
                row.status, row.next_at, row.finished_at = VisitStatus.CANCELLED.value, None, from_epoch(now)
            await session.commit()
            ids = [row.id for row in rows]
        return [await self._found(visit_id) for visit_id in ids]

    async def _found(self, visit_id: int) -> VisitInfo:
        visit = await self.get(visit_id)
        if visit is None:
            raise VisitNotFound(f"no visit {visit_id}")
        return visit

