"""The reports page (screenpop/reports.html) in headless Chromium against the real report
routes over a seeded week: the SVG charts have one mark per figure, the filters redraw
them, every CSV download is the table shown, and server text stays text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import launched_chromium
from tests.support.desk import PASSWORD
from tests.unit.test_reports_api import Env, reports_env

REPORTS_SHOT = Path("/tmp/reports-page.png")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with reports_env(tmp_path) as reports:
        yield reports


async def shown_table(page: Any, name: str) -> list[list[str]]:
    return await page.evaluate(
        """(name) => {
          const table = document.querySelector(`[data-testid=table-${name}]`);
          const head = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
          const rows = [...table.querySelectorAll("tbody tr")].map((tr) => [...tr.cells].map((td) => td.textContent));
          return [head, ...rows];
        }""",
        name,
    )


async def marks(page: Any, chart: str, selector: str) -> list[str]:
    return await page.locator(f"[data-testid={chart}] {selector}").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.value)")


async def test_charts_tables_filters_and_csv(env: Env, tmp_path: Path) -> None:
    await env.login("supervisor")
    _, week = await env.call("GET", "/api/reports/days?from=2026-05-04&to=2026-05-10")
    _, queues = await env.call("GET", "/api/reports/queues?from=2026-05-04&to=2026-05-10")
    _, agents = await env.call("GET", "/api/reports/agents?from=2026-05-04&to=2026-05-10")
    base = str(env.client.make_url("/"))
    async with launched_chromium() as browser:
        context = await browser.new_context(base_url=base, locale="zh-CN")
        response = await context.request.post("/login", data={"username": "supervisor", "password": PASSWORD})
        assert response.ok
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/ui/reports.html?from=2026-05-04&to=2026-05-10")
        await page.locator("[data-testid=trend-chart]").wait_for(timeout=10_000)
        await page.screenshot(path=str(REPORTS_SHOT), full_page=True)
        # laid out for reading: contents first, the hour table folded, agents by name
        height = await page.evaluate("() => document.documentElement.scrollHeight")
        print(f"reports page height: {height} px")
        assert await page.locator("[data-testid=rp-contents] a").count() == 5
        assert await page.locator("[data-testid=fold-hours]").get_attribute("open") is None
        assert not await page.locator("[data-testid=table-hours]").is_visible()
        assert await page.locator("[data-testid=table-agents] tbody tr td").first.inner_text() == agents["agents"][0]["name"]
        choices = await page.locator("[data-testid=rp-agent] option").evaluate_all(
            "(nodes) => nodes.map((n) => [n.value, n.textContent])")
        _, known = await env.call("GET", "/api/reports/agent-choices")
        assert choices == [["", "全部坐席"]] + [[a["interface"], f"{a['name']}（{a['extension']}）"] for a in known["agents"]]

        # the trend: a line and a point per day for offered and answered
        assert await page.locator("[data-testid=trend-chart] polyline.series").count() == 2
        points = await marks(page, "trend-chart", "circle.point[data-series=offered]")
        assert points == [str(d["offered"]) for d in week["days"]]
        answered = await marks(page, "trend-chart", "circle.point[data-series=answered]")
        assert answered == [str(d["answered"]) for d in week["days"]]
        # bars: offered and answered per queue; answered per agent
        assert await marks(page, "queue-bars", "rect.bar") == [
            str(v) for q in queues["queues"] for v in (q["offered"], q["answered"])]
        assert await marks(page, "agent-bars", "rect.bar") == [str(a["answered"]) for a in agents["agents"]]
        # the heat map: 7 x 24 cells holding every offer of the week
        cells = await marks(page, "heat-map", "rect.cell")
        assert len(cells) == 168 and sum(map(int, cells)) == queues["total"]["offered"]
        assert await page.locator("[data-testid=rp-business]").inner_text() != ""

        # every CSV download is the table shown
        for name in ("days", "queues", "agents", "hours"):
            href = await page.locator(f"[data-testid=csv-{name}]").get_attribute("href")
            assert href is not None and "format=csv" in href and "lang=zh" in href
            download = await context.request.get(href)
            text = (await download.body()).decode("utf-8")
            assert text.startswith("\ufeff")
            assert list(csv.reader(io.StringIO(text[1:]))) == await shown_table(page, name), name

        # filters: one day, one queue
        await page.fill("[data-testid=rp-from]", "2026-05-06")
        await page.fill("[data-testid=rp-to]", "2026-05-06")
        await page.select_option("[data-testid=rp-queue]", "repair")
        await page.click("[data-testid=rp-load]")
        await page.locator("[data-testid=trend-chart] circle.point").nth(1).wait_for(timeout=10_000)
        await page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=trend-chart] circle.point').length === 2")
        _, day = await env.call("GET", "/api/reports/days?from=2026-05-06&to=2026-05-06&queue=repair")
        assert await marks(page, "trend-chart", "circle.point") == [
            str(day["days"][0]["offered"]), str(day["days"][0]["answered"])]
        _, repair = await env.call("GET", "/api/reports/queues?from=2026-05-06&to=2026-05-06&queue=repair")
        assert await marks(page, "queue-bars", "rect.bar") == [
            str(repair["queues"][0]["offered"]), str(repair["queues"][0]["answered"])]
        assert "2026-05-06" in await page.locator("[data-testid=rp-heading]").inner_text()
        link = await page.locator("[data-testid=csv-queues]").get_attribute("href")
        assert link is not None and "queue=repair" in link and "from=2026-05-06" in link

        # English, and text stays text (a pause reason that looks like a formula)
        await page.click("[data-testid=lang-toggle]")
        await page.wait_for_function("() => document.querySelector('[data-testid=rp-load]').textContent === 'Show'")
        assert await page.locator("[data-testid=table-agents] script").count() == 0
        assert errors == []
        await context.close()
