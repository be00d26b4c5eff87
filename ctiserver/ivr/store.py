"""IVR flow versions as published, the runs of flows over calls, and survey scores.

Every publish is kept (number, author, time, diff against what it replaced), so a
run's ``flow_version_number`` always says exactly which flow a caller heard, and
any version can be brought back.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.ivr.tables import CallSurvey, FlowVersion, IvrRun
from ctiserver.storage.base import utcnow
from ctiserver.storage.database import Database

if TYPE_CHECKING:
    from ctiserver.ivr.engine import FlowRun

#: concurrent publishes of one flow collide on (flow, number); the loser retries
_PUBLISH_ATTEMPTS = 5


@dataclass(frozen=True)
class FlowVersionInfo:
    id: int
    flow: str
    number: int
    #: content hash of ``source``
    version: str
    source: str
    author: str
    created_at: dt.datetime
    diff: str | None
    note: str | None
    active: bool


@dataclass(frozen=True)
class IvrRunInfo:
    id: int
    call_linkedid: str
    uniqueid: str
    flow: str
    flow_version: str
    flow_version_number: int
    started_at: dt.datetime
    ended_at: dt.datetime
    #: [{node, kind, digits, result, at}]
    path: list[dict[str, Any]]
    variables: dict[str, str]
    outcome: dict[str, Any] | None
    ended_by_hangup: bool
    error: str | None


@dataclass(frozen=True)
class SurveyInfo:
    id: int
    call_linkedid: str
    score: int
    at: dt.datetime


def _version_info(row: FlowVersion) -> FlowVersionInfo:
    return FlowVersionInfo(
        row.id, row.flow, row.number, row.version, row.source, row.author, row.created_at,
        row.diff, row.note, row.active,
    )


def _run_info(row: IvrRun) -> IvrRunInfo:
    return IvrRunInfo(
        row.id, row.call_linkedid, row.uniqueid, row.flow, row.flow_version,
        row.flow_version_number, row.started_at, row.ended_at, list(row.path),
        dict(row.variables), row.outcome, row.ended_by_hangup, row.error,
    )


def _diff(old: FlowVersion | None, flow: str, number: int, version: str, source: str) -> str | None:
    """Unified diff from the version in force to the new one; None when there was none."""
    if old is None:
        return None
    lines = difflib.unified_diff(
        old.source.splitlines(),
        source.splitlines(),
        fromfile=f"{flow} v{old.number} ({old.version})",
        tofile=f"{flow} v{number} ({version})",
        lineterm="",
    )
    return "\n".join(lines) + "\n"


class FlowVersionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self, flow: str, source: str, version: str, author: str, note: str | None = None
    ) -> FlowVersionInfo:
        """Record ``source`` as the flow's next version and the only active one.

        Publishing the version already active changes nothing and returns it.
        """
        for attempt in range(_PUBLISH_ATTEMPTS):
            try:
                return await self._publish_once(flow, source, version, author, note)
            except IntegrityError:
                if attempt == _PUBLISH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _publish_once(
        self, flow: str, source: str, version: str, author: str, note: str | None
    ) -> FlowVersionInfo:
        async with self._db.session() as session:
            # Write first, read after: SQLite (WAL) cannot turn a transaction that has
            # read into a writing one once another writer has committed, and this
            # statement takes the write lock (on PostgreSQL, it locks the flow's rows).
            await session.execute(
                update(FlowVersion).where(FlowVersion.flow == flow).values(active=FlowVersion.active)
            )
            current = await _active_row(session, flow, lock=True)
            if current is not None and current.version == version:
                await session.commit()
                return _version_info(current)
            last = await session.scalar(
                select(func.max(FlowVersion.number)).where(FlowVersion.flow == flow)
            )
            number = (last or 0) + 1
            await session.execute(
                update(FlowVersion)
                .where(FlowVersion.flow == flow, FlowVersion.active.is_(True))
                .values(active=False)
            )
            row = FlowVersion(
                flow=flow, number=number, version=version, source=source, author=author,
                created_at=utcnow(), diff=_diff(current, flow, number, version, source),
                note=note, active=True,
            )
            session.add(row)
            await session.commit()
            return _version_info(row)

    async def active(self, flow: str) -> FlowVersionInfo | None:
        async with self._db.session() as session:
            row = await _active_row(session, flow, lock=False)
            return None if row is None else _version_info(row)

    async def list(self, flow: str) -> builtins.list[FlowVersionInfo]:
        """Every version of ``flow``, newest first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(FlowVersion)
                .where(FlowVersion.flow == flow)
                .order_by(FlowVersion.number.desc())
            )
            return [_version_info(row) for row in rows]

    async def get(self, flow: str, number: int) -> FlowVersionInfo | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(FlowVersion).where(FlowVersion.flow == flow, FlowVersion.number == number)
            )
            return None if row is None else _version_info(row)

    async def flows(self) -> builtins.list[str]:
        """Names of the flows that were ever published, sorted."""
        async with self._db.session() as session:
            names = await session.scalars(
                select(FlowVersion.flow).distinct().order_by(FlowVersion.flow)
            )
            return builtins.list(names)


async def _active_row(session: AsyncSession, flow: str, *, lock: bool) -> FlowVersion | None:
    query = (
        select(FlowVersion)
        .where(FlowVersion.flow == flow, FlowVersion.active.is_(True))
        .order_by(FlowVersion.number.desc())
        .limit(1)
    )
    return await session.scalar(query.with_for_update() if lock else query)


def _path(run: FlowRun) -> list[dict[str, Any]]:
    return [
        {"node": s.node, "kind": s.kind, "digits": s.digits, "result": s.result, "at": s.at,
         # what the step said and did (prompts' text, keys, lookups...): the run's record
         "events": [{"kind": e.kind, "detail": e.detail, "tag": e.tag} for e in s.events]}
        for s in run.path
    ]


class IvrRunRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self, run: FlowRun, *, call_linkedid: str, uniqueid: str, flow_version_number: int
    ) -> int:
        """Store one finished run (ended now); its id."""
        ended = utcnow()
        async with self._db.session() as session:
            row = IvrRun(
                call_linkedid=call_linkedid,
                uniqueid=uniqueid,
                flow=run.flow_name,
                flow_version=run.flow_version,
                flow_version_number=flow_version_number,
                started_at=run.started_at or ended,
                ended_at=ended,
                path=_path(run),
                variables=dict(run.variables),
                outcome=None if run.outcome is None else dataclasses.asdict(run.outcome),
                ended_by_hangup=run.ended_by_hangup,
                error=run.error,
            )
            session.add(row)
            await session.commit()
            return row.id

    async def list_for_call(self, linkedid: str) -> list[IvrRunInfo]:
        """The call's runs in the order they started; a continuation after the agent is one more."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(IvrRun)
                .where(IvrRun.call_linkedid == linkedid)
                .order_by(IvrRun.started_at, IvrRun.id)
            )
            return [_run_info(row) for row in rows]

    async def record_survey(self, call_linkedid: str, score: int) -> SurveyInfo:
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValueError(f"survey score must be 1 to 5, not {score!r}")
        async with self._db.session() as session:
            row = CallSurvey(call_linkedid=call_linkedid, score=score, at=utcnow())
            session.add(row)
            await session.commit()
            return SurveyInfo(row.id, row.call_linkedid, row.score, row.at)

    async def surveys_for_call(self, linkedid: str) -> list[SurveyInfo]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CallSurvey)
                .where(CallSurvey.call_linkedid == linkedid)
                .order_by(CallSurvey.id)
            )
            return [SurveyInfo(r.id, r.call_linkedid, r.score, r.at) for r in rows]
