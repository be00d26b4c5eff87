"""The business reports over a seeded month of tickets: every figure equals what this test
computes from the seeded rows itself (plain Python over the lists written), with and without
the filters; the routes answer the same table as JSON and CSV, for supervisors only."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer, Product
from ctiserver.dispatch.tables import Branch
from ctiserver.ivr.tables import CallSurvey
from ctiserver.reports.business import BusinessFilters, BusinessQueries
from ctiserver.reports.queries import ReportQueries
from ctiserver.reports.service import ReportService, report_table
from ctiserver.stats.days import HotlineDays
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.tables import Ticket, TicketEvent
from ctiserver.visits.tables import Visit
from tests.business_seed import business_rows, write

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
FIRST = dt.date(2026, 3, 1)
START = dt.datetime(2026, 3, 1, tzinfo=TZ).astimezone(dt.UTC)
ROWS = business_rows(START, 31, tickets_per_day=40, customers=300)
MONTH = (FIRST, dt.date(2026, 3, 31))
WEEK = (dt.date(2026, 3, 9), dt.date(2026, 3, 15))
FILTERS = [BusinessFilters(), BusinessFilters(province="广东省"), BusinessFilters(province="广东省", city="深圳市"),
           BusinessFilters(model="KF-35GW"), BusinessFilters(department="repair")]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("business") / "cti.sqlite3"

    async def seed() -> None:
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_schema(url)
        db = Database(url)
        await write(db.engine, ROWS)
        await db.close()

    asyncio.run(seed())
    return path


@pytest.fixture
async def service(seeded: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{seeded}")
    yield ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: START.timestamp() + 40 * 86400, (),
                        "PJSIP/{extension}", BusinessQueries(db))
    await db.close()


# ---- the figures, computed here from the seeded rows -----------------------------------------

CUSTOMERS = {c["id"]: c for c in ROWS[Customer]}
PRODUCTS = {p["id"]: p for p in ROWS[Product]}
BRANCHES = {b["id"]: b["name"] for b in ROWS[Branch]}


def bounds(days: tuple[dt.date, dt.date]) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime(days[0].year, days[0].month, days[0].day, tzinfo=TZ),
            dt.datetime(days[1].year, days[1].month, days[1].day, tzinfo=TZ) + dt.timedelta(days=1))


def chosen(days: tuple[dt.date, dt.date], f: BusinessFilters) -> list[dict[str, Any]]:
    lo, hi = bounds(days)
    out = []
    for t in ROWS[Ticket]:
        customer = CUSTOMERS.get(t["customer_id"]) or {}
        product = PRODUCTS.get(t["product_id"]) or {}
        if not lo <= t["created_at"] < hi:
            continue
        if (f.province is not None and customer.get("province") != f.province) or (
                f.city is not None and customer.get("city") != f.city):
            continue
        if (f.model is not None and product.get("model") != f.model) or (
                f.department is not None and t["department"] != f.department):
            continue
        out.append(t)
    return out


def pct(part: int, whole: int, scale: float = 100.0, digits: int = 1) -> float | None:
    return round(scale * part / whole, digits) if whole else None


def first_done(ticket: int) -> dt.datetime | None:
    return min((e["at"] for e in ROWS[TicketEvent] if e["ticket_id"] == ticket and e["kind"] == "completed"),
               default=None)


def expect_tickets(days: Any, f: BusinessFilters) -> list[list[Any]]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for t in chosen(days, f):
        counts[(t["type"], t["status"], t["department"])] += 1
    return [[*k, n] for k, n in sorted(counts.items())]


def expect_complaint_rates(days: Any, f: BusinessFilters) -> list[list[Any]]:
    place: Callable[[dict[str, Any]], str] = (lambda c: c["city"]) if f.province else (lambda c: c["province"])
    fits = BusinessFilters(f.province, f.city, f.model)
    counted: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for t in chosen(days, BusinessFilters(department=f.department)):
        if t["type"] != "complaint" or t["product_id"] is None or t["customer_id"] is None:
            continue
        customer, product = CUSTOMERS[t["customer_id"]], PRODUCTS[t["product_id"]]
        if fitting(customer, product, fits):
            counted[("model", product["model"])][0] += 1
            counted[("region", place(customer))][0] += 1
    for product in ROWS[Product]:
        customer = CUSTOMERS[product["customer_id"]]
        if fitting(customer, product, fits):
            counted[("model", product["model"])][1] += 1
            counted[("region", place(customer))][1] += 1
    return [[by, key, c, i, pct(c, i, 1000.0, 2)] for (by, key), (c, i) in sorted(counted.items())]


def fitting(customer: dict[str, Any], product: dict[str, Any], f: BusinessFilters) -> bool:
    return ((f.province is None or customer["province"] == f.province)
            and (f.city is None or customer["city"] == f.city) and (f.model is None or product["model"] == f.model))


def expect_fault_rates(days: Any, f: BusinessFilters) -> list[list[Any]]:
    repairs = [t for t in chosen(days, f) if t["type"] == "repair"]
    codes: dict[str, int] = defaultdict(int)
    parts: dict[str, int] = defaultdict(int)
    for t in repairs:
        if "fault_code" in t["fields"]:
            codes[t["fields"]["fault_code"]] += 1
        for part in set(t["fields"].get("parts", [])):
            parts[part] += 1
    n = len(repairs)
    return [["fault_code", "(all)", n, 100.0 if n else None],
            *(["fault_code", k, v, pct(v, n)] for k, v in sorted(codes.items())),
            *(["part", k, v, pct(v, n)] for k, v in sorted(parts.items()))]


def expect_complaints_against(days: Any, f: BusinessFilters) -> list[list[Any]]:
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for t in chosen(days, f):
        if t["type"] == "complaint":
            counts[(t["fields"].get("about", ""), t["department"], BRANCHES.get(t["branch_id"], ""))] += 1
    return [[*k, n] for k, n in sorted(counts.items())]


def expect_turnaround(days: Any, f: BusinessFilters) -> list[list[Any]]:
    spans: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t in chosen(days, f):
        done = first_done(t["id"])
        if t["type"] == "repair" and done is not None:
            hours = (done - t["created_at"]).total_seconds() / 3600
            spans[(t["department"], BRANCHES.get(t["branch_id"], ""))].append(hours)
            spans[("~", "")].append(hours)
    return [[d.replace("~", "(all)"), b, len(s), round(sum(s) / len(s), 2), round(statistics.median(s), 2),
             round(max(s), 2)] for (d, b), s in sorted(spans.items())]


def expect_sla(days: Any, f: BusinessFilters) -> list[list[Any]]:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for t in chosen(days, f):
        row = counts[(t["department"], BRANCHES.get(t["branch_id"], ""))]
        row[0] += 1
        row[1] += t["breached_at"] is not None
    total = [sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values())]
    return [*([d, b, n, x, pct(x, n)] for (d, b), (n, x) in sorted(counts.items())),
            ["(all)", "", *total, pct(total[1], total[0])]]


def expect_first_contact(days: Any, f: BusinessFilters) -> list[list[Any]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in chosen(days, f):
        done = first_done(t["id"])
        if done is None:
            continue
        reopened = any(e["ticket_id"] == t["id"] and e["kind"] == "reopened" for e in ROWS[TicketEvent])
        called = any(c["customer_id"] == t["customer_id"] is not None
                     and done < c["started_at"] <= done + dt.timedelta(days=7) for c in ROWS[CallRow])
        for key in (t["department"], "~"):
            counts[key][0] += 1
            counts[key][1] += not reopened and not called
    return [[d.replace("~", "(all)"), n, r, pct(r, n)] for d, (n, r) in sorted(counts.items())]


def expect_satisfaction(days: Any, f: BusinessFilters) -> list[list[Any]]:
    """Surveys (by the call's agent, the call's tickets' departments and branches) and return
    visits (by the agent of the call that opened the ticket, the ticket's department and
    branch), each on its own and pooled."""
    lo, hi = bounds(days)
    calls = {c["linkedid"]: c for c in ROWS[CallRow]}
    tickets = {t["id"]: t for t in ROWS[Ticket]}
    groups: dict[tuple[int, str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for s in ROWS[CallSurvey]:
        call = calls[s["call_linkedid"]]
        customer = CUSTOMERS.get(call["customer_id"]) or {}
        if not lo <= s["at"] < hi or (f.province and customer.get("province") != f.province) or (
                f.city and customer.get("city") != f.city):
            continue
        on_call = [t for t in ROWS[Ticket] if t["call_linkedid"] == s["call_linkedid"]
                   and (f.model is None or PRODUCTS.get(t["product_id"], {}).get("model") == f.model)
                   and (f.department is None or t["department"] == f.department)]
        if (f.model or f.department) and not on_call:
            continue
        for key in {("department", t["department"]) for t in on_call} | {
                ("branch", BRANCHES.get(t["branch_id"], "")) for t in on_call}:
            groups[(1 if key[0] == "department" else 2, *key)][0].append(s["score"])
        groups[(0, "agent", call["agent"] or "")][0].append(s["score"])
        groups[(0, "agent", "~")][0].append(s["score"])
    for v in ROWS[Visit]:
        t = tickets[v["ticket_id"]]
        customer = CUSTOMERS.get(t["customer_id"]) or {}
        if v["score"] is None or not lo <= v["finished_at"] < hi:
            continue
        if (f.province and customer.get("province") != f.province) or (f.city and customer.get("city") != f.city):
            continue
        if (f.model and PRODUCTS.get(t["product_id"], {}).get("model") != f.model) or (
                f.department and t["department"] != f.department):
            continue
        agent = (calls.get(t["call_linkedid"]) or {}).get("agent") or ""
        for key in ((0, "agent", agent), (0, "agent", "~"), (1, "department", t["department"]),
                    (2, "branch", BRANCHES.get(t["branch_id"], ""))):
            groups[key][1].append(v["score"])

    def figures(scores: list[int]) -> list[Any]:
        if not scores:
            return [0, None, None]
        return [len(scores), round(sum(scores) / len(scores), 2), pct(sum(x >= 4 for x in scores), len(scores))]

    return [[by, key.replace("~", "(all)"), *figures(s), *figures(v), *figures(s + v)]
            for (_, by, key), (s, v) in sorted(groups.items())]


EXPECT = {
    "tickets": expect_tickets, "complaint_rates": expect_complaint_rates, "fault_rates": expect_fault_rates,
    "complaints_against": expect_complaints_against, "turnaround": expect_turnaround, "sla": expect_sla,
    "first_contact": expect_first_contact, "satisfaction": expect_satisfaction,
}


@pytest.mark.parametrize("name", list(EXPECT))
@pytest.mark.parametrize("days", [MONTH, WEEK])
async def test_every_business_figure_equals_the_rows(service: ReportService, name: str, days: Any) -> None:
    for f in FILTERS:
        report = await service.business_report(name, service.period(*days), f)
        expected = EXPECT[name](days, f)
        assert report["rows"] == expected, (name, f)
        assert report_table(report) == (report["columns"], expected)
        if f == BusinessFilters() and days == MONTH:
            assert len(expected) > 3 and all(len(r) == len(report["columns"]) for r in expected)
            if name == "satisfaction":  # both sources are in the month, and some keys have only one
                assert all(r[2] > 0 and r[5] > 0 for r in expected if r[1] == "(all)")
                assert all(r[8] == r[2] + r[5] for r in expected)


async def test_the_routes_answer_supervisors_as_json_and_csv(tmp_path: Path) -> None:
    import csv
    import io

    from aiohttp.test_utils import TestClient, TestServer

    from ctiserver.lab.demo import seed_demo
    from ctiserver.reports import http as reports_http
    from ctiserver.settings import Settings
    from ctiserver.users.store import UserRepository
    from tests.support.desk import PASSWORD
    from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
    from tests.unit.test_reports_api import Env
    from tests.unit.web_app import build_app

    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await write(db.engine, ROWS)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    settings = Settings().replace(web={"session_secret": "business reports secret"})
    app = build_app(settings, db=db, calls=FakeTracker(), ami=FakeAmi(), users=UserRepository(db, FAST_HASHER))
    reports = ReportService(ReportQueries(db), HotlineDays(ZONE), lambda: START.timestamp() + 86400, (),
                            settings.hotline.agent_interface, BusinessQueries(db))
    reports_http.register(app, reports)
    client = TestClient(TestServer(app))
    await client.start_server()
    env = Env(client)
    try:
        query = "from=2026-03-09&to=2026-03-15&province=%E5%B9%BF%E4%B8%9C%E7%9C%81&department=complaint"
        await env.login("agent1001")
        assert (await env.call("GET", f"/api/reports/sla?{query}"))[0] == 403
        await env.login("supervisor")
        status, report = await env.call("GET", f"/api/reports/complaints_against?{query}")
        assert status == 200, report
        assert (report["province"], report["department"], report["city"]) == ("广东省", "complaint", None)
        chosen_here = BusinessFilters(province="广东省", department="complaint")
        assert report["rows"] == expect_complaints_against(WEEK, chosen_here)
        assert report["rows"]
        response = await client.get(f"/api/reports/complaint_rates?{query}&format=csv&headers=codes")
        assert response.status == 200 and response.content_type == "text/csv"
        read = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        assert read[0] == ["by", "key", "complaints", "installed", "per_thousand"]
        assert not any(cell.startswith(("=", "@")) for line in read for cell in line)
        assert (await env.call("GET", "/api/reports/tickets?from=2026-03-09&to=2026-03-01"))[0] == 400
    finally:
        await client.close()
        await db.close()
