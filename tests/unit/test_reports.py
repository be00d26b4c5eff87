"""The call-center reports over a seeded month: every figure equals what this test computes
from the seeded records itself (plain Python over the list, not the code under test), the
hourly totals kept as records are stored equal those rebuilt from the records, and the
CSV is the report's table, defused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ctiserver.agents.model import AgentState, PauseInterval, StateInterval
from ctiserver.reports.model import Thresholds, csv_text
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import Filters, ReportRangeError, ReportService, report_table
from ctiserver.reports.store import ReportTotals
from ctiserver.reports.tables import ReportHourRow, ReportPauseRow
from ctiserver.stats.days import HotlineDays
from ctiserver.stats.model import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
)
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.database import Database, upgrade_schema
from tests.reports_seed import QUEUES, ZONE, month_records

FIRST = dt.date(2026, 3, 1)
DAYS = 31
#: the complaint queue answers within 30 s, the others within 20 s; short abandons under 5 s
SERVICE_LEVEL = {"complaint": 30}
THRESHOLDS = Thresholds(SERVICE_LEVEL, 20, 5, ZONE)
RECORDS = month_records(FIRST, DAYS, calls_per_day=120, agent_count=5)
TZ = ZoneInfo(ZONE)


def midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The month stored as the server stores it: batches of 200, some sent twice."""
    import asyncio

    path = tmp_path_factory.mktemp("reports") / "cti.sqlite3"

    async def seed() -> None:
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_schema(url)
        db = Database(url)
        stored = StatsRepository(db)
        stored.on_stored(ReportTotals(db, THRESHOLDS).stored)
        for n in range(0, len(RECORDS), 200):
            await stored.append(RECORDS[n:n + 200])
            if n % 2000 == 0:  # a retried batch, a replayed journal
                await stored.append(RECORDS[n:n + 200])
        await db.close()

    asyncio.run(seed())
    return path


@pytest.fixture
async def reports(seeded: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{seeded}")
    service = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: midnight(FIRST + dt.timedelta(days=40)),
                            QUEUES, "PJSIP/{extension}")
    yield service, db
    await db.close()


# ---- the figures, computed here from the records -------------------------------------------


def overlap(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


def expected_queue(records: Iterable[Record], lo: float, hi: float, agent: str | None = None) -> dict[str, Any]:
    offered = answered = abandoned = short = unanswered = in_sl = completed = transfers = 0
    answer_wait = abandon_wait = talk = longest_answer = longest = 0.0
    for r in records:
        if isinstance(r, CallOffered) and lo <= r.at < hi and agent is None:
            offered += 1
        elif isinstance(r, CallAnswered) and lo <= r.offered_at < hi and agent in (None, r.interface):
            answered += 1
            answer_wait += r.wait_seconds
            longest_answer = max(longest_answer, r.wait_seconds)
            longest = max(longest, r.wait_seconds)
            in_sl += r.wait_seconds <= SERVICE_LEVEL.get(r.queue, 20)
        elif isinstance(r, CallAbandoned) and lo <= r.offered_at < hi and agent is None:
            abandoned += 1
            abandon_wait += r.wait_seconds
            short += r.wait_seconds < 5
            longest = max(longest, r.wait_seconds)
        elif isinstance(r, CallUnanswered) and lo <= r.offered_at < hi and agent is None:
            unanswered += 1
            longest = max(longest, r.wait_seconds)
        elif isinstance(r, CallCompleted) and lo <= r.at < hi and agent in (None, r.interface):
            completed += 1
            talk += r.talk_seconds
            transfers += r.reason == "transfer"
    counted = answered + abandoned - short
    return {
        "offered": offered, "answered": answered, "abandoned": abandoned, "short_abandoned": short,
        "unanswered": unanswered, "answered_in_sl": in_sl,
        "service_level": round(100 * in_sl / counted, 1) if counted else None,
        "average_answer_seconds": round(answer_wait / answered, 1) if answered else None,
        "average_abandon_seconds": round(abandon_wait / abandoned, 1) if abandoned else None,
        "longest_answer_wait": round(longest_answer, 1), "longest_wait": round(longest, 1),
        "completed": completed, "average_talk_seconds": round(talk / completed, 1) if completed else None,
        "transfers": transfers, "callbacks_owed": 0, "callbacks_made": 0, "callbacks_connected": 0,
    }


def expected_agent(records: Iterable[Record], agent: str, lo: float, hi: float) -> dict[str, Any]:
    states: dict[str, float] = defaultdict(float)
    pauses: dict[str, float] = defaultdict(float)
    for r in records:
        if isinstance(r, StateInterval) and r.interface == agent and r.state is not AgentState.LOGGED_OUT:
            states[r.state.value] += overlap(r.start, r.end, lo, hi)
        elif isinstance(r, PauseInterval) and r.interface == agent and overlap(r.start, r.end, lo, hi):
            pauses[r.reason or ""] += overlap(r.start, r.end, lo, hi)
    calls = expected_queue(records, lo, hi, agent)
    talk = sum(r.talk_seconds for r in records
               if isinstance(r, CallCompleted) and r.interface == agent and lo <= r.at < hi)
    busy = states["ringing"] + states["on_call"] + states["wrap_up"]
    available = busy + states["ready"]
    logged_in = available + states["paused"]
    completed = calls["completed"]
    return {
        "agent": agent, "answered": calls["answered"], "completed": completed, "transfers": calls["transfers"],
        "talk_seconds": round(talk, 1),
        "average_handle_seconds": round((talk + states["wrap_up"]) / completed, 1) if completed else None,
        **{f"{s}_seconds": round(states[s], 1) for s in ("ready", "ringing", "on_call", "wrap_up", "paused")},
        "logged_in_seconds": round(logged_in, 1),
        "occupancy": round(100 * busy / available, 1) if available else None,
        "utilisation": round(100 * busy / logged_in, 1) if logged_in else None,
        "callbacks_made": 0, "callbacks_connected": 0,
        "pause_seconds": {reason: round(s, 1) for reason, s in sorted(pauses.items())},
    }


def same(actual: Any, expected: Any) -> bool:
    """Equal, floats to the rounding (sums added in another order may round the other way)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            same(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, float) and isinstance(actual, float | int):
        return abs(actual - expected) <= 0.1 + 1e-9
    return bool(actual == expected) and type(actual) is type(expected)


RANGES = [
    (FIRST, FIRST + dt.timedelta(days=DAYS - 1)),  # the month
    (FIRST + dt.timedelta(days=9), FIRST + dt.timedelta(days=11)),  # three days
    (FIRST + dt.timedelta(days=20), FIRST + dt.timedelta(days=20)),  # one day
]


@pytest.mark.parametrize(("first", "last"), RANGES)
async def test_queue_figures_equal_the_records(reports: Any, first: dt.date, last: dt.date) -> None:
    service, _ = reports
    lo, hi = midnight(first), midnight(last + dt.timedelta(days=1))
    report = await service.queues(service.period(first, last), Filters())
    assert [q["name"] for q in report["queues"]] == sorted(QUEUES)
    for row in report["queues"]:
        name = row.pop("name")
        expected = expected_queue([r for r in RECORDS if getattr(r, "queue", None) == name], lo, hi)
        assert same(row, expected), name
    assert same(report["total"], expected_queue(RECORDS, lo, hi))
    assert report["total"]["offered"] > 0 and report["total"]["short_abandoned"] > 0
    assert report["total"]["transfers"] > 0


@pytest.mark.parametrize(("first", "last"), RANGES)
async def test_agent_figures_equal_the_records(reports: Any, first: dt.date, last: dt.date) -> None:
    service, _ = reports
    lo, hi = midnight(first), midnight(last + dt.timedelta(days=1))
    report = await service.agents(service.period(first, last), Filters())
    names = sorted({r.interface for r in RECORDS if isinstance(r, StateInterval)})
    assert [a["agent"] for a in report["agents"]] == names
    for row in report["agents"]:
        figures = {k: v for k, v in row.items() if k not in ("name", "extension")}
        assert same(figures, expected_agent(RECORDS, row["agent"], lo, hi)), row["agent"]
        # no directory here: an agent is known by their extension
        assert row["extension"] == row["agent"].split("/")[-1] == row["name"], row
    assert any(a["pause_seconds"] for a in report["agents"])


async def test_filters_by_queue_and_agent(reports: Any) -> None:
    service, _ = reports
    first, last = RANGES[1]
    lo, hi = midnight(first), midnight(last + dt.timedelta(days=1))
    period = service.period(first, last)
    repair = await service.queues(period, Filters(queue="repair"))
    assert [q["name"] for q in repair["queues"]] == ["repair"]
    assert same(repair["total"], expected_queue([r for r in RECORDS if getattr(r, "queue", "") == "repair"], lo, hi))
    one = await service.queues(period, Filters(agent="PJSIP/1002"))
    assert same(one["total"], expected_queue(RECORDS, lo, hi, "PJSIP/1002"))
    days = await service.days_report(period, Filters(queue="repair"))
    assert [d["offered"] for d in days["days"]] == [
        sum(1 for r in RECORDS if isinstance(r, CallOffered) and r.queue == "repair"
            and midnight(d) <= r.at < midnight(d + dt.timedelta(days=1)))
        for d in (first, first + dt.timedelta(days=1), last)
    ]


async def test_days_and_hours_follow_the_local_clock(reports: Any) -> None:
    service, _ = reports
    first, last = RANGES[0]
    period = service.period(first, last)
    days = await service.days_report(period, Filters())
    assert len(days["days"]) == DAYS
    for row in days["days"]:
        day = dt.date.fromisoformat(row.pop("day"))
        full = expected_queue(RECORDS, midnight(day), midnight(day + dt.timedelta(days=1)))
        assert same(row, {k: full[k] for k in row}), day
    hours = await service.hours(period, Filters())
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    lo, hi = midnight(first), midnight(last + dt.timedelta(days=1))
    for r in RECORDS:
        if isinstance(r, CallOffered | CallAnswered | CallAbandoned) and lo <= getattr(r, "offered_at", r.at) < hi:
            local = dt.datetime.fromtimestamp(getattr(r, "offered_at", r.at), TZ)
            index = {CallOffered: 0, CallAnswered: 1, CallAbandoned: 2}[type(r)]
            cells[(local.isoweekday(), local.hour)][index] += 1
    assert len(hours["cells"]) == 7 * 24
    assert {(c["weekday"], c["hour"]): [c["offered"], c["answered"], c["abandoned"]] for c in hours["cells"]} == {
        (w, h): cells[(w, h)] for w in range(1, 8) for h in range(24)}


async def test_the_kept_totals_equal_a_rebuild_from_the_records(reports: Any) -> None:
    service, db = reports

    async def rows() -> tuple[list[Any], list[Any]]:
        async with db.session() as session:
            hours = (await session.execute(select(ReportHourRow.__table__).order_by(
                ReportHourRow.hour, ReportHourRow.queue, ReportHourRow.agent))).all()
            pauses = (await session.execute(select(ReportPauseRow.__table__).order_by(
                ReportPauseRow.hour, ReportPauseRow.agent, ReportPauseRow.reason))).all()
        return [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in hours], \
            [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in pauses]

    kept = await rows()
    totals = ReportTotals(db, THRESHOLDS)
    # a range rebuilt alone, then everything
    before = await service.queues(service.period(*RANGES[1]), Filters())
    await totals.rebuild(int(midnight(RANGES[1][0]) // 3600), int(midnight(RANGES[1][1] + dt.timedelta(days=1)) // 3600))
    assert await rows() == kept
    assert await service.queues(service.period(*RANGES[1]), Filters()) == before
    assert await totals.rebuild() == len(RECORDS)
    assert await rows() == kept
    assert len(kept[0]) > DAYS * 12


async def test_a_report_is_one_table_and_its_csv(reports: Any) -> None:
    service, _ = reports
    report = await service.agents(service.period(*RANGES[1]), Filters())
    header, rows = report_table(report)
    assert header[:4] == ["name", "extension", "agent", "answered"] and "pause:lunch" in header
    text = csv_text(header, rows)
    assert text.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(text[1:])))
    assert read[0] == header
    assert header[-4:] == ["pause:", "pause:=cmd|' /C calc'!A0", "pause:lunch", "pause:training"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in read for cell in line)
    assert [line[2] for line in read[1:]] == [a["agent"] for a in report["agents"]]
    assert read[1][3] == str(report["agents"][0]["answered"])


def test_csv_cells_a_spreadsheet_would_run_are_defused() -> None:
    text = csv_text(["=name", "n"], [["=1+1", 3], ["+cmd", None], ["-x", 2.5], ["@SUM(A1)", 0], ["张伟", 1]])
    assert text.startswith("\ufeff") and "\r\n" in text
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["'=name", "n"], ["'=1+1", "3"], ["'+cmd", ""], ["'-x", "2.5"], ["'@SUM(A1)", "0"], ["张伟", "1"]]
    assert csv_text(["n"], [[12.0], [0.5], [None]]).splitlines()[1:] == ["12", "0.5", '""']


def test_a_range_is_checked(reports: Any) -> None:
    service, _ = reports
    with pytest.raises(ReportRangeError):
        service.period(dt.date(2026, 3, 5), dt.date(2026, 3, 1))
    with pytest.raises(ReportRangeError):
        service.period(dt.date(2020, 1, 1), dt.date(2026, 1, 1))
    assert service.period(None, None).first_day == FIRST + dt.timedelta(days=40)
