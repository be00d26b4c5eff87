"""GET /api/reports/{queues,agents,hours,days}: supervisors only, JSON as declared, the
same table as CSV, the callbacks owed and made counted per queue and agent."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from ctiserver.agents import AgentRepository
from ctiserver.callbacks.model import Miss, Outcome, Source
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.lab.demo import seed_demo
from ctiserver.reports import http as reports_http
from ctiserver.reports.labels import column_labels
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService, report_table
from ctiserver.reports.store import ReportTotals, thresholds
from ctiserver.settings import Settings
from ctiserver.spreadsheets.model import undefuse
from ctiserver.spreadsheets.workbooks import MEDIA_TYPE
from ctiserver.stats.days import HotlineDays
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.users.store import UserRepository
from tests.reports_seed import QUEUES, ZONE, month_records
from tests.support.desk import PASSWORD
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.api_session import ApiSession
from tests.unit.web_app import build_app

FIRST = dt.date(2026, 5, 4)
RECORDS = month_records(FIRST, 7, calls_per_day=40, agent_count=3, seed=7)
NOON = dt.datetime(2026, 5, 6, 12, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


@dataclass
class Env(ApiSession):
    password: ClassVar[str] = PASSWORD


@contextlib.asynccontextmanager
async def reports_env(tmp_path: Path) -> AsyncIterator[Env]:
    """A week of records and three callback tasks behind the real report routes."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    settings = Settings().replace(web={"session_secret": "reports test secret"})
    stored = StatsRepository(db)
    stored.on_stored(ReportTotals(db, thresholds(settings)).stored)
    await stored.append(RECORDS)
    callbacks = CallbackRepository(db)
    for n, queue in enumerate(("repair", "repair", "support")):
        await callbacks.record_miss(Miss(f"1380013800{n}", Source.ABANDONED, NOON + n, queue=queue,
                                         linkedid=f"cb{n}"))
    claim = await callbacks.claim("repair", NOON + 7200, agent="1002", channel_id="chan-1")
    assert claim is not None
    await callbacks.finish(claim.attempt.id, Outcome.CONNECTED, NOON + 7300)
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    reports_http.register(app, ReportService(
        ReportQueries(db), HotlineDays(ZONE), lambda: NOON, QUEUES, settings.hotline.agent_interface,
        directory=AgentRepository(db)))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Env(client)
    finally:
        await client.close()
        await db.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with reports_env(tmp_path) as reports:
        yield reports


RANGE = "from=2026-05-04&to=2026-05-10"


async def test_supervisors_get_each_report_as_json_csv_and_xlsx(env: Env) -> None:
    await env.login("agent1001")
    assert (await env.call("GET", f"/api/reports/queues?{RANGE}"))[0] == 403
    await env.login("supervisor")
    for name in ("queues", "agents", "hours", "days"):
        status, report = await env.call("GET", f"/api/reports/{name}?{RANGE}")
        assert status == 200, report
        assert (report["report"], report["from"], report["to"], report["timezone"]) == (
            name, "2026-05-04", "2026-05-10", ZONE)
        response = await env.client.get(f"/api/reports/{name}?{RANGE}&format=csv&headers=codes")
        assert response.status == 200 and response.content_type == "text/csv"
        assert f"report-{name}-2026-05-04-2026-05-10.csv" in response.headers["Content-Disposition"]
        body = await response.read()
        assert body.startswith("\ufeff".encode())
        header, rows = report_table(report)
        read = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert read[0] == header
        assert read[1:] == [[shown(v) for v in row] for row in rows]
        # the same table as an Excel workbook: text never a formula, the CSV's cells
        response = await env.client.get(f"/api/reports/{name}?{RANGE}&format=xlsx&headers=codes")
        assert response.status == 200 and response.content_type == MEDIA_TYPE
        assert f"report-{name}-2026-05-04-2026-05-10.xlsx" in response.headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(await response.read())).worksheets[0]
        assert [c.coordinate for line in sheet.iter_rows() for c in line if c.data_type == "f"] == []
        cells = [["" if v is None else str(v) for v in line] for line in sheet.iter_rows(values_only=True)]
        assert cells == [[undefuse(c) for c in line] for line in read] and len(cells) == len(rows) + 1


async def test_spreadsheet_headers_in_the_pages_language_or_as_codes(env: Env) -> None:
    await env.login("supervisor")
    for name in ("queues", "agents", "hours", "days"):
        _, report = await env.call("GET", f"/api/reports/{name}?{RANGE}")
        codes, _ = report_table(report)
        for lang, query in (("zh", "&lang=zh"), ("zh", ""), ("en", "&lang=en")):
            response = await env.client.get(f"/api/reports/{name}?{RANGE}&format=csv{query}")
            header = next(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
            assert header == column_labels(codes, lang)
            if lang == "zh":  # every column said in Chinese: none left as its code
                assert not set(header) & set(codes) and all(re.search("[\u4e00-\u9fff]", h) for h in header), header
        response = await env.client.get(f"/api/reports/{name}?{RANGE}&format=xlsx&lang=en")
        sheet = load_workbook(io.BytesIO(await response.read())).worksheets[0]
        assert list(next(sheet.iter_rows(values_only=True))) == column_labels(codes, "en")
    assert (await env.call("GET", f"/api/reports/days?{RANGE}&format=csv&headers=names"))[0] == 400


async def test_agents_named_as_people_and_listed_for_the_filter(env: Env) -> None:
    await env.login("supervisor")
    status, choices = await env.call("GET", "/api/reports/agent-choices")
    assert status == 200 and len(choices["agents"]) >= 3
    directory = {c["extension"]: c["name"] for c in choices["agents"]}
    assert all(c["interface"] == f"PJSIP/{c['extension']}" and re.search("[\u4e00-\u9fff]", c["name"])
               for c in choices["agents"]), choices  # the demo's agents have Chinese names
    _, report = await env.call("GET", f"/api/reports/agents?{RANGE}")
    assert report["agents"] and all(
        a["name"] == directory[a["extension"]] and a["agent"] == f"PJSIP/{a['extension']}" for a in report["agents"])
    await env.login("agent1001")
    assert (await env.call("GET", "/api/reports/agent-choices"))[0] == 403


def shown(value: Any) -> str:
    """A value as the CSV writes it (and the page shows it)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text


async def test_callbacks_owed_and_made(env: Env) -> None:
    await env.login("supervisor")
    _, report = await env.call("GET", "/api/reports/queues?from=2026-05-06&to=2026-05-06")
    by_name = {q["name"]: q for q in report["queues"]}
    assert (by_name["repair"]["callbacks_owed"], by_name["repair"]["callbacks_made"],
            by_name["repair"]["callbacks_connected"]) == (2, 1, 1)
    assert by_name["support"]["callbacks_owed"] == 1 and by_name["support"]["callbacks_made"] == 0
    assert (report["total"]["callbacks_owed"], report["total"]["callbacks_made"]) == (3, 1)
    _, agents = await env.call("GET", "/api/reports/agents?from=2026-05-06&to=2026-05-06")
    made = {a["agent"]: (a["callbacks_made"], a["callbacks_connected"]) for a in agents["agents"]}
    assert made["PJSIP/1002"] == (1, 1) and made["PJSIP/1001"] == (0, 0)
    _, other_day = await env.call("GET", "/api/reports/queues?from=2026-05-07&to=2026-05-07")
    assert other_day["total"]["callbacks_owed"] == 0


async def test_filters_and_bad_ranges(env: Env) -> None:
    await env.login("supervisor")
    _, one = await env.call("GET", f"/api/reports/agents?{RANGE}&agent=PJSIP/1002")
    assert [a["agent"] for a in one["agents"]] == ["PJSIP/1002"] and one["agent"] == "PJSIP/1002"
    _, repair = await env.call("GET", f"/api/reports/days?{RANGE}&queue=repair")
    assert len(repair["days"]) == 7 and repair["queue"] == "repair"
    assert (await env.call("GET", "/api/reports/days?from=2026-05-10&to=2026-05-04"))[0] == 400
    assert (await env.call("GET", "/api/reports/days?from=2026-02-30"))[0] == 400
    assert (await env.call("GET", "/api/reports/days?format=xml"))[0] == 400
    status, today = await env.call("GET", "/api/reports/days")
    assert status == 200 and [d["day"] for d in today["days"]] == ["2026-05-06"]


def test_the_seed_has_every_kind() -> None:
    assert {r.kind for r in RECORDS} == {
        "offered", "answered", "abandoned", "unanswered", "completed", "agent_state", "pause"}
