"""The reports page's business figures (screenpop/reports-business.js) in headless Chromium
against the real business report routes over a seeded month of tickets: every chart has one
bar per figure of its report (the values the route answers), the filters (dates, region,
model, department) redraw them, every CSV download is the table shown, text stays text."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ctiserver.lab.demo import seed_demo
from ctiserver.reports import http as reports_http
from ctiserver.reports.business import BusinessQueries
from ctiserver.reports.model.export import defuse
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService
from ctiserver.settings import Settings
from ctiserver.stats.days import HotlineDays
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.tables import Ticket
from ctiserver.users.store import UserRepository
from tests.business_seed import write
from tests.chromium import launched_chromium
from tests.support.desk import PASSWORD
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.test_reports_api import Env
from tests.unit.test_reports_business import ROWS, START, ZONE
from tests.unit.web_app import build_app

SHOT = Path("/tmp/reports-business-page.png")
NAMES = ("tickets", "complaint_rates", "fault_rates", "complaints_against", "turnaround", "sla", "first_contact",
         "satisfaction")


@contextlib.asynccontextmanager
async def business_env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await write(db.engine, ROWS)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    settings = Settings().replace(web={"session_secret": "business page secret"})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    reports_http.register(app, ReportService(
        ReportQueries(db), HotlineDays(ZONE), lambda: START.timestamp() + 86400, (),
        settings.hotline.agent_interface, BusinessQueries(db)))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Env(client)
    finally:
        await client.close()
        await db.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with business_env(tmp_path) as business:
        yield business


def records(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(report["columns"], row, strict=True)) for row in report["rows"]]


def summed(rows: list[dict[str, Any]], key: str, figure: str) -> list[float]:
    totals: dict[Any, float] = defaultdict(float)
    for row in rows:
        totals[row[key]] += row[figure]
    return list(totals.values())


def expected_charts(name: str, report: dict[str, Any]) -> dict[str, list[float]]:
    """Every chart's bar values, in order, worked out here from the route's rows."""
    rows = records(report)

    def by(what: str, figure: str) -> list[float]:
        return [r[figure] for r in rows if r["by"] == what and r["key"] != "(all)" and r[figure] is not None]

    def per_row(*figures: str) -> list[float]:
        return [r[f] for r in rows if r["department"] != "(all)" and all(r[g] is not None for g in figures)
                for f in figures]

    if name == "tickets":
        return {"tickets-kind-bars": summed(rows, "kind", "tickets"),
                "tickets-status-bars": summed(rows, "status", "tickets"),
                "tickets-department-bars": summed(rows, "department", "tickets")}
    if name == "complaint_rates":
        return {"complaint-model-bars": by("model", "per_thousand"),
                "complaint-region-bars": by("region", "per_thousand")}
    if name == "fault_rates":
        return {"fault-code-bars": by("fault_code", "share"), "fault-part-bars": by("part", "share")}
    if name == "complaints_against":
        return {"against-department-bars": summed(rows, "department", "complaints"),
                "against-branch-bars": summed(rows, "branch", "complaints")}
    if name == "turnaround":
        return {"turnaround-bars": per_row("average_hours", "median_hours")}
    if name == "sla":
        return {"sla-bars": per_row("tickets", "breached")}
    if name == "first_contact":
        return {"first-contact-bars": per_row("rate")}
    return {f"csat-{what}-bars": by(what, "average_score") for what in ("agent", "department", "branch")}


async def marks(page: Any, chart: str) -> list[float]:
    values = await page.locator(f"[data-testid={chart}] rect.bar").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.value)")
    return [float(v) for v in values]


#: the words of the business charts that overlap another's: [chart, word, word]
OVERLAPS = """() => {
  const found = [];
  for (const chart of document.querySelectorAll("[data-testid=rp-business] svg.chart")) {
    const boxes = [...chart.querySelectorAll("text")].map((n) => [n.textContent, n.getBoundingClientRect()]);
    boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
      const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (x > 1 && y > 1) found.push([chart.dataset.testid, a, b]);
    }));
  }
  return found;
}"""


async def shown_table(page: Any, name: str) -> list[list[str]]:
    return await page.evaluate(
        """(name) => {
          const table = document.querySelector(`[data-testid=table-${name}]`);
          const head = [...table.querySelectorAll("thead th")].map((th) => th.dataset.col);
          const rows = [...table.querySelectorAll("tbody tr")].map((tr) => [...tr.cells].map((td) => td.textContent));
          return [head, ...rows];
        }""",
        name,
    )


async def check_every_report(env: Env, page: Any, context: Any, query: dict[str, str]) -> dict[str, Any]:
    """The charts, the tables and the CSV links of every report equal the routes' answers."""
    answers = {}
    for name in NAMES:
        status, report = await env.call("GET", f"/api/reports/{name}?{urlencode(query)}")
        assert status == 200, report
        answers[name] = report
        for chart, values in expected_charts(name, report).items():
            assert await marks(page, chart) == pytest.approx(values), (name, chart)
            # nothing to draw: a line says so, not an empty frame
            assert await page.locator(f"[data-testid={chart}-empty]").count() == (0 if values else 1), chart
        shown = await shown_table(page, name)
        assert await page.evaluate(OVERLAPS) == [], name  # many models: the bars lie down
        assert shown[0] == report["columns"]
        assert len(shown) - 1 == len(report["rows"])
        href = await page.locator(f"[data-testid=csv-{name}]").get_attribute("href")
        assert href is not None and "format=csv" in href
        for key, value in query.items():
            assert urlencode({key: value}) in href, (name, key)
        download = await context.request.get(href)
        text = (await download.body()).decode("utf-8")
        assert text.startswith("\ufeff")
        # the CSV is the table (its headers as the page says them), text cells a spreadsheet would run
        # prefixed with ' (docs/statistics.md)
        said = await page.locator(f"[data-testid=table-{name}] thead th").all_text_contents()
        assert list(csv.reader(io.StringIO(text[1:]))) == [said] + [
            [str(defuse(c)) for c in row] for row in shown[1:]], name
    return answers


async def test_business_charts_tables_filters_and_csv(env: Env) -> None:
    await env.login("supervisor")
    base = str(env.client.make_url("/"))
    async with launched_chromium() as browser:
        context = await browser.new_context(base_url=base, locale="zh-CN")
        response = await context.request.post("/login", data={"username": "supervisor", "password": PASSWORD})
        assert response.ok
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/ui/reports.html?from=2026-03-01&to=2026-03-31")
        await page.locator("[data-testid=csat-agent-bars]").wait_for(timeout=15_000)
        await page.screenshot(path=str(SHOT), full_page=True)
        month = await check_every_report(env, page, context, {"from": "2026-03-01", "to": "2026-03-31"})
        assert sum(r[3] for r in month["tickets"]["rows"]) == sum(
            1 for t in ROWS[Ticket] if START <= t["created_at"] < START + dt.timedelta(days=31))
        assert len(await marks(page, "tickets-kind-bars")) == 6
        # a region whose name looks like a formula is drawn and shown as text
        regions = await page.locator("[data-testid=complaint-region-bars] text").all_text_contents()
        assert "=cmd" in regions
        assert await page.locator("[data-testid=rp-business] script").count() == 0

        # filters: a week, a province, a department
        await page.fill("[data-testid=rp-from]", "2026-03-09")
        await page.fill("[data-testid=rp-to]", "2026-03-15")
        await page.fill("[data-testid=rp-province]", "广东省")
        await page.select_option("[data-testid=rp-department]", "repair")
        await page.click("[data-testid=rp-load]")
        await page.wait_for_function(
            "() => document.querySelector('[data-testid=csv-tickets]').href.includes('department=repair')")
        narrowed = {"from": "2026-03-09", "to": "2026-03-15", "province": "广东省", "department": "repair"}
        week = await check_every_report(env, page, context, narrowed)
        assert week["tickets"]["rows"] != month["tickets"]["rows"]
        assert await marks(page, "tickets-department-bars") == [sum(r[3] for r in week["tickets"]["rows"])]
        # the model filter too
        await page.fill("[data-testid=rp-model]", "KF-35GW")
        await page.click("[data-testid=rp-load]")
        await page.wait_for_function(
            "() => document.querySelector('[data-testid=csv-tickets]').href.includes('model=KF-35GW')")
        modelled = await check_every_report(env, page, context, {
            "from": "2026-03-09", "to": "2026-03-15", "province": "广东省", "model": "KF-35GW", "department": "repair"})
        assert [r["key"] for r in records(modelled["complaint_rates"]) if r["by"] == "model"] in ([], ["KF-35GW"])

        # English
        await page.click("[data-testid=lang-toggle]")
        await page.wait_for_function("() => document.querySelector('[data-testid=rp-load]').textContent === 'Show'")
        heading = await page.locator("[data-testid=section-satisfaction] h3").inner_text()
        assert heading.startswith("CSAT")
        assert await marks(page, "csat-agent-bars") == pytest.approx(
            expected_charts("satisfaction", modelled["satisfaction"])["csat-agent-bars"])
        # a period without tickets: each chart says so
        await page.fill("[data-testid=rp-from]", "2020-01-01")
        await page.fill("[data-testid=rp-to]", "2020-01-02")
        await page.click("[data-testid=rp-load]")
        empty = page.locator("[data-testid=tickets-kind-bars-empty]")
        await empty.wait_for(timeout=15_000)
        assert await empty.inner_text() == "No data for this period"
        assert errors == []
        await context.close()
