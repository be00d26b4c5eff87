"""Callback tasks and their attempts in SQL (voicemails callers left are the IVR's:
``ctiserver.ivr.voicemails``).

Every change is committed before anyone acts on it: a miss is a task before the IVR says
"we will call you back"; an attempt is claimed (the task ``dialing``, the attempt row
with the ChannelId the Originate will carry) before the Originate is sent, so a server
that crashes finds it and asks Asterisk instead of dialling again. On PostgreSQL the
claim is ``SELECT ... FOR UPDATE SKIP LOCKED``: two servers never claim one task;
SQLite serves one process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.callbacks.model import (
    OPEN,
    Miss,
    Outcome,
    Policy,
    Source,
    Status,
    after_attempt,
    joins,
    number_key,
)
from ctiserver.callbacks.tables import Callback, CallbackAttempt, CallbackMiss
from ctiserver.callbacks.views import AttemptInfo, CallbackInfo, Claim, attempt_info, callback_info
from ctiserver.settings import CallbackSettings
from ctiserver.storage.base import from_epoch, utcnow
from ctiserver.storage.database import Database

__all__ = ["AttemptInfo", "CallbackInfo", "CallbackRepository", "Claim"]


def policy_from(settings: CallbackSettings) -> Policy:
    return Policy(
        dedup_window=settings.dedup_window, expire_after=settings.expire_after,
        max_attempts=settings.max_attempts, retry_min=settings.retry_min, retry_max=settings.retry_max,
    )


class CallbackRepository:
    def __init__(self, db: Database, policy: Policy | None = None, *, server: str = "") -> None:
        self._db = db
        self.policy = policy or Policy()
        #: written on the attempts this server claims
        self.server = server

    @property
    def _postgres(self) -> bool:
        return self._db.engine.dialect.name == "postgresql"

    def _locked(self, query: Select[Callback], *, skip: bool = False) -> Select[Callback]:
        """Row locks on PostgreSQL (SQLite has one writer at a time anyway)."""
        return query.with_for_update(skip_locked=skip) if self._postgres else query

    # -- misses ---------------------------------------------------------------------

    async def record_miss(self, miss: Miss) -> tuple[CallbackInfo, bool]:
        """The task owed for ``miss``: an open one of the number within the window, or a
        new one; (the task, whether it is new). A call already counted (its linkedid) is
        not counted again: (its task, False)."""
        key = number_key(miss.number)
        if not key:
            raise ValueError("no number to call back")
        at = from_epoch(miss.at)
        async with self._db.session() as session:
            if self._postgres:  # one miss of a number at a time, across servers
                await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            if miss.linkedid:
                counted = await session.scalar(
                    select(Callback).join(CallbackMiss, CallbackMiss.callback_id == Callback.id)
                    .where(CallbackMiss.linkedid == miss.linkedid)
                )
                if counted is not None:
                    return callback_info(counted), False
            open_task = await session.scalar(self._locked(
                select(Callback)
                .where(Callback.number_key == key, Callback.status.in_([s.value for s in OPEN]))
                .order_by(Callback.missed_at.desc(), Callback.id.desc())
                .limit(1)
            ))
            if open_task is not None and joins(open_task.missed_at.timestamp(), miss.at, self.policy):
                open_task.misses += 1
                open_task.last_missed_at = at
                if miss.wait_seconds is not None:
                    open_task.wait_seconds = max(open_task.wait_seconds or 0.0, miss.wait_seconds)
                open_task.vip = open_task.vip or miss.vip
                open_task.customer_id = open_task.customer_id or miss.customer_id
                open_task.queue = open_task.queue or miss.queue
                if miss.choices and not open_task.choices:
                    open_task.choices = list(miss.choices)
                self._count(session, open_task, miss)
                await session.commit()
                return callback_info(open_task), False
            row = Callback(
                number=miss.number.strip(), number_key=key, customer_id=miss.customer_id,
                call_linkedid=miss.linkedid, queue=miss.queue, source=miss.source.value,
                reason=miss.reason or miss.source.value, status=Status.PENDING.value, missed_at=at,
                last_missed_at=at, misses=1, wait_seconds=miss.wait_seconds,
                choices=list(miss.choices) or None, vip=miss.vip, due_at=at,
                expires_at=from_epoch(miss.at + self.policy.expire_after), attempts=0,
            )
            session.add(row)
            await session.flush()
            self._count(session, row, miss)
            await session.commit()
            return callback_info(row), True

    @staticmethod
    def _count(session: AsyncSession, task: Callback, miss: Miss) -> None:
        if miss.linkedid:
            session.add(CallbackMiss(
                callback_id=task.id, linkedid=miss.linkedid, at=from_epoch(miss.at), source=miss.source.value,
                wait_seconds=miss.wait_seconds,
            ))

    async def record_misses(self, misses: Sequence[Miss]) -> None:
        """For the durable writer: each once (a replayed miss is a no-op)."""
        for miss in misses:
            await self.record_miss(miss)

    async def request(
        self,
        number: str,
        *,
        customer_id: int | None,
        call_linkedid: str | None,
        reason: str,
        due_at: dt.datetime | None = None,
        source: Source | str = Source.REQUESTED,
        queue: str | None = None,
        choices: Sequence[str] = (),
        vip: bool = False,
    ) -> CallbackInfo:
        """A callback asked for in the IVR (or owed for a closed or unstaffed hotline),
        due now unless ``due_at`` says otherwise. ``source``: a ``Source`` or its value
        (the IVR names it without importing the callbacks); ValueError for another word."""
        if not number.strip():
            raise ValueError("no number to call back")
        miss = Miss(
            number, Source(source), utcnow().timestamp(), queue=queue, reason=reason,
            customer_id=customer_id, linkedid=call_linkedid, choices=tuple(choices), vip=vip,
        )
        task, created = await self.record_miss(miss)
        if created and due_at is not None:
            async with self._db.session() as session:
                row = await session.get(Callback, task.id)
                if row is not None:
                    row.due_at = due_at
                    await session.commit()
                    return callback_info(row)
        return task

    async def cancel_for_number(self, number: str, at: float) -> list[CallbackInfo]:
        """The number called in again and reached an agent: its pending tasks missed
        before ``at`` are cancelled (one being dialled is left to its attempt)."""
        key = number_key(number)
        async with self._db.session() as session:
            rows = list(await session.scalars(self._locked(
                select(Callback).where(
                    Callback.number_key == key, Callback.status == Status.PENDING.value,
                    Callback.missed_at <= from_epoch(at),
                )
            )))
            for row in rows:
                row.status, row.finished_at = Status.CANCELLED.value, from_epoch(at)
            await session.commit()
            return [callback_info(row) for row in rows]

    # -- reading ----------------------------------------------------------------------

    async def get(self, callback_id: int) -> CallbackInfo | None:
        async with self._db.session() as session:
            row = await session.get(Callback, callback_id)
            return None if row is None else callback_info(row)

    async def pending(self, limit: int = 100) -> list[CallbackInfo]:
        """Pending tasks, the longest overdue first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Callback).where(Callback.status == Status.PENDING.value)
                .order_by(Callback.due_at, Callback.id).limit(limit)
            )
            return [callback_info(row) for row in rows]

    async def search(
        self, *, status: str | None = None, number: str | None = None, limit: int = 200
    ) -> list[CallbackInfo]:
        """Newest miss first."""
        query = select(Callback)
        if status:
            query = query.where(Callback.status == status)
        if number:
            query = query.where(Callback.number_key == number_key(number))
        async with self._db.session() as session:
            rows = await session.scalars(query.order_by(Callback.missed_at.desc(), Callback.id.desc()).limit(limit))
            return [callback_info(row) for row in rows]

    async def attempts(self, callback_id: int) -> list[AttemptInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CallbackAttempt).where(CallbackAttempt.callback_id == callback_id)
                .order_by(CallbackAttempt.id)
            )
            return [attempt_info(row) for row in rows]

    async def in_flight(self) -> list[AttemptInfo]:
        """Attempts claimed and not ended: after a crash, each is resolved from Asterisk."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CallbackAttempt).where(CallbackAttempt.ended_at.is_(None)).order_by(CallbackAttempt.id)
            )
            return [attempt_info(row) for row in rows]

    async def due_queues(self, now: float) -> dict[str, int]:
        """Queues with pending tasks due at ``now``: how many each."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(Callback.queue, func.count()).where(
                    Callback.status == Status.PENDING.value, Callback.due_at <= from_epoch(now),
                    Callback.queue.is_not(None),
                ).group_by(Callback.queue)
            )
            return {str(queue): int(n) for queue, n in rows}

    # -- supervisors --------------------------------------------------------------------

    async def cancel(self, callback_id: int, at: float) -> CallbackInfo | None:
        """None if there is no such task; ValueError if it is not pending."""
        return await self._change(callback_id, at, cancel=True)

    async def reassign(
        self, callback_id: int, at: float, *, queue: str | None, agent: str | None
    ) -> CallbackInfo | None:
        """To another queue and/or one agent (None: any ready agent of the queue); due now."""
        return await self._change(callback_id, at, queue=queue, agent=agent)

    async def _change(
        self, callback_id: int, at: float, *, cancel: bool = False,
        queue: str | None = None, agent: str | None = None,
    ) -> CallbackInfo | None:
        async with self._db.session() as session:
            row = await session.scalar(self._locked(select(Callback).where(Callback.id == callback_id)))
            if row is None:
                return None
            if row.status != Status.PENDING.value:
                raise ValueError(f"the callback is {row.status}, not pending")
            if cancel:
                row.status, row.finished_at = Status.CANCELLED.value, from_epoch(at)
            else:
                row.queue = queue or row.queue
                row.agent = agent
                row.due_at = min(row.due_at, from_epoch(at))
            await session.commit()
            return callback_info(row)

    async def expire(self, now: float) -> list[CallbackInfo]:
        """Pending tasks past their expiry become expired."""
        async with self._db.session() as session:
            rows = list(await session.scalars(self._locked(
                select(Callback).where(
                    Callback.status == Status.PENDING.value, Callback.expires_at <= from_epoch(now)
                ), skip=True,
            )))
            for row in rows:
                row.status, row.finished_at = Status.EXPIRED.value, from_epoch(now)
            await session.commit()
            return [callback_info(row) for row in rows]

    # -- attempts -----------------------------------------------------------------------

    async def claim(self, queue: str, now: float, *, agent: str, channel_id: str) -> Claim | None:
        """The first due task of ``queue`` (VIP first, then oldest) that ``agent`` may take,
        now ``dialing`` with a new attempt carrying ``channel_id``; None if none is due, or
        if the agent has an attempt under way (claimed by another server)."""
        async with self._db.session() as session:
            if self._postgres:  # one claim for an agent at a time, across servers
                await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"agent:{agent}"})
            ringing = await session.scalar(
                select(CallbackAttempt.id)
                .where(CallbackAttempt.agent == agent, CallbackAttempt.ended_at.is_(None)).limit(1)
            )
            if ringing is not None:  # another server offers this agent a callback
                return None
            row = await session.scalar(self._locked(
                select(Callback).where(
                    Callback.status == Status.PENDING.value, Callback.queue == queue,
                    Callback.due_at <= from_epoch(now),
                    (Callback.expires_at.is_(None)) | (Callback.expires_at > from_epoch(now)),
                    (Callback.agent.is_(None)) | (Callback.agent == agent),
                )
                .order_by(Callback.vip.desc(), Callback.missed_at, Callback.id)
                .limit(1),
                skip=True,
            ))
            if row is None:
                return None
            row.status, row.last_attempt_at = Status.DIALING.value, from_epoch(now)
            attempt = CallbackAttempt(
                callback_id=row.id, started_at=from_epoch(now), agent=agent, channel_id=channel_id,
                server=self.server or None,
            )
            session.add(attempt)
            await session.commit()
            return Claim(callback_info(row), attempt_info(attempt))

    async def claim_task(self, callback_id: int, now: float, *, channel_id: str) -> Claim | None:
        """Task ``callback_id``, if pending, now ``dialing`` with a new attempt carrying
        ``channel_id`` and no agent yet (a placeholder in a queue: the agent who answers
        it is learnt later, ``set_agent``); None if it is not pending (another attempt has
        it, or it is done)."""
        async with self._db.session() as session:
            row = await session.scalar(self._locked(select(Callback).where(Callback.id == callback_id), skip=True))
            if row is None or row.status != Status.PENDING.value:
                return None
            row.status, row.last_attempt_at = Status.DIALING.value, from_epoch(now)
            attempt = CallbackAttempt(
                callback_id=row.id, started_at=from_epoch(now), agent=None, channel_id=channel_id,
                server=self.server or None,
            )
            session.add(attempt)
            await session.commit()
            return Claim(callback_info(row), attempt_info(attempt))

    async def set_agent(self, attempt_id: int, agent: str) -> None:
        """The agent who took an attempt's placeholder (so a restart knows whom it rings)."""
        async with self._db.session() as session:
            attempt = await session.get(CallbackAttempt, attempt_id, with_for_update=self._postgres)
            if attempt is not None and attempt.ended_at is None:
                attempt.agent = agent
                await session.commit()

    async def finish(self, attempt_id: int, outcome: Outcome, now: float) -> CallbackInfo | None:
        """The attempt's outcome, and what it makes of the task; once only (None if the
        attempt had already ended or does not exist)."""
        async with self._db.session() as session:
            attempt = await session.get(CallbackAttempt, attempt_id, with_for_update=self._postgres)
            if attempt is None or attempt.ended_at is not None:
                return None
            attempt.ended_at, attempt.outcome = from_epoch(now), outcome.value
            row = await session.get(Callback, attempt.callback_id, with_for_update=self._postgres)
            if row is None:
                await session.commit()
                return None
            row.outcome = outcome.value
            if row.status == Status.DIALING.value:
                then = after_attempt(outcome, row.attempts, now, self.policy)
                row.status, row.attempts = then.status.value, then.attempts
                if then.due_at is not None:
                    row.due_at = from_epoch(then.due_at)
                if then.status is not Status.PENDING:
                    row.finished_at = from_epoch(now)
                if outcome is Outcome.CONNECTED and attempt.agent:
                    row.agent = attempt.agent
            await session.commit()
            return callback_info(row)
