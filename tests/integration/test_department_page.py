"""The department work view in headless Chromium against the real server (its features started,
no Asterisk: nothing here is telephony): a branch's engineer sees their tickets, most urgent
first, a newly dispatched one appears without reload (another branch's never does),
schedules, starts, records the visit, meets a conflict, completes, and sees the return visit
come in; on a desk and on a phone (390x844).

Screenshots: /tmp/department-desk.png, /tmp/department-phone.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from ctiserver.customers import CustomerRepository, Product
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.changes import Author
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import Ticket
from ctiserver.users.store import UserRepository
from tests.integration.browser import logged_in_page
from tests.staff import FAST_HASHER, add_branch, add_staff

pytestmark = pytest.mark.integration

PASSWORD = "department page password"
DESK_SHOT = Path("/tmp/department-desk.png")
PHONE_SHOT = Path("/tmp/department-phone.png")
TIMEOUT = 10_000


class Site:
    def __init__(self, cti: CtiServer, server: TestServer, ids: dict[str, int], branches: dict[str, int]) -> None:
        self.cti = cti
        self.server = server
        self.ids = ids
        self.branches = branches
        self.base = str(server.make_url("")).rstrip("/")

    async def dispatched(self, summary: str, branch: str, **fields: Any) -> Any:
        tickets = self.cti.tickets
        opened = await tickets.open("repair", summary, fields, customer_id=None)
        return await tickets.dispatch(opened.id, "repair", self.branches[branch])


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        web={"session_secret": "department page secret"},
        tickets={"feed_interval": 0.1},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)
    db = cti.db
    branches = {"beijing": await add_branch(db, "北京海淀网点", "北京"), "shanghai": await add_branch(db, "上海浦东网点", "上海")}
    ids = {
        "bj": await add_staff(db, "bj", PASSWORD, "repair", branches["beijing"], "王工 <b>"),
        "sh": await add_staff(db, "sh", PASSWORD, "repair", branches["shanghai"], "李工"),
        "supervisor": (await UserRepository(db, FAST_HASHER).add("supervisor", PASSWORD, "supervisor")).id,
    }
    await cti.core.start_features()  # the live feed among them; the telephony links stay down
    # the return visits follow the ticket-event feed and would move a completed ticket on to
    # return_visit at once: on this page the quality team does that by hand
    for task in asyncio.all_tasks():
        if task.get_name() == "visit-feed":
            task.cancel()
    server = TestServer(cti.web_app)
    await server.start_server()
    try:
        yield Site(cti, server, ids, branches)
    finally:
        await server.close()
        await cti.core.stop_features()
        await cti.core.close()
        await cti.db.close()


async def rows(page: Any) -> list[str]:
    return await page.locator("[data-testid=ticket-row]").evaluate_all("(nodes) => nodes.map((n) => n.dataset.number)")


async def status_is(page: Any, status: str) -> None:
    await page.locator(f"[data-testid=detail-status][data-status={status}]").wait_for(timeout=TIMEOUT)


async def test_an_engineer_works_a_ticket_live_on_a_desk_and_a_phone(site: Site, browser: Any) -> None:
    urgent = await site.dispatched("冰箱不制冷（加急）", "beijing")
    await site.cti.tickets.update_fields(urgent.id, {"address": "北京市海淀区中关村大街1号"})
    # two tickets of the same branch: the urgent one (escalated by hand, as the SLA watch does) first
    later = await site.dispatched("<img src=x onerror=alert(1)>洗衣机漏水", "beijing")
    elsewhere = await site.dispatched("上海的工单", "shanghai")
    async with site.cti.db.session() as session:
        row = await session.get(Ticket, urgent.id)
        assert row is not None
        row.escalation_level = 1
        await session.commit()

    page = await logged_in_page(browser, site.base, "bj", PASSWORD, "/ui/department.html")
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.locator("[data-testid=ticket-row]").nth(1).wait_for(timeout=TIMEOUT)
    assert await rows(page) == [urgent.number, later.number]
    other = await logged_in_page(browser, site.base, "sh", PASSWORD, "/ui/department.html")
    await other.locator(f"[data-testid=ticket-row][data-number='{elsewhere.number}']").wait_for(timeout=TIMEOUT)
    await page.locator("[data-testid=connection][data-state=online]").wait_for(timeout=TIMEOUT)
    await other.locator("[data-testid=connection][data-state=online]").wait_for(timeout=TIMEOUT)

    # live: a ticket dispatched to Beijing appears on Beijing's page only, without a reload
    fresh = await site.dispatched("空调不制冷", "beijing", product_model="KFR-35GW")
    row = page.locator(f"[data-testid=ticket-row][data-number='{fresh.number}']")
    await row.wait_for(timeout=TIMEOUT)
    assert await rows(other) == [elsewhere.number], "Shanghai's page never gets Beijing's ticket"
    assert await page.locator("img").count() == 0, "a summary is text, never markup"

    # schedule a visit with an engineer, then start
    await row.click()
    await status_is(page, "dispatched")
    await page.get_by_test_id("act-schedule").click()
    form = page.get_by_test_id("schedule-form")
    await form.locator("select[name=engineer]").select_option(str(site.ids["bj"]))
    await page.get_by_test_id("schedule-submit").click()
    await status_is(page, "scheduled")
    detail = await site.cti.tickets.get(fresh.id)
    assert detail is not None and detail.engineer_id == site.ids["bj"] and detail.appointment_start is not None
    assert "王工 <b>" in await page.get_by_test_id("detail-fields").inner_text()
    await page.get_by_test_id("act-start").click()
    await status_is(page, "in_progress")

    # record the visit: parts, result, distance
    await page.get_by_test_id("field-parts").fill("压缩机\n启动电容")
    await page.get_by_test_id("field-result").select_option("parts_replaced")
    await page.get_by_test_id("field-distance_km").fill("12.5")
    await page.get_by_test_id("visit-submit").click()
    await page.locator("[data-testid=detail-fields] dd[data-key='tfield.parts']").wait_for(timeout=TIMEOUT)
    stored = await site.cti.tickets.get(fresh.id)
    assert stored is not None
    assert (stored.fields["parts"], stored.fields["result"], stored.fields["distance_km"]) == (
        ["压缩机", "启动电容"], "parts_replaced", 12.5)

    # a conflict: another server changes the ticket and the page has not heard yet (this
    # server's look at the tickets' history held back; the change is not on this one's bus)
    feed = site.cti.ticket_feed
    held_back = asyncio.Event()

    async def held() -> int:
        held_back.set()
        return 0

    feed.look = held  # type: ignore[method-assign]
    # the feed's next look is the held one: a look begun before, which could still read the
    # change below, is over (the feed looks one at a time)
    await asyncio.wait_for(held_back.wait(), TIMEOUT / 1000)
    elsewhere = Database(site.cti.settings.database.url)
    try:
        await TicketRepository(elsewhere).move(fresh.id, "waiting_parts", by=Author(site.ids["sh"], "sh"))
    finally:
        await elsewhere.close()
    await page.get_by_test_id("act-complete").click()
    notice = page.get_by_test_id("detail-notice")
    await notice.wait_for(timeout=TIMEOUT)
    said = await notice.inner_text()
    assert "冲突" in said and "changed meanwhile" in said, said
    await status_is(page, "waiting_parts")  # reloaded
    del feed.look  # the feed runs again

    await page.get_by_test_id("act-resume").click()
    await status_is(page, "in_progress")
    await page.get_by_test_id("act-complete").click()
    await status_is(page, "completed")
    kinds = await page.locator("[data-testid=history-row]").evaluate_all("(nodes) => nodes.map((n) => n.dataset.kind)")
    assert kinds[0] == "created"
    assert kinds[-6:] == ["scheduled", "started", "fields", "waiting", "resumed", "completed"]

    # the return visit (the quality team's move) arrives live
    await site.cti.tickets.move(fresh.id, "return_visit", by=Author(site.ids["supervisor"], "supervisor"))
    await status_is(page, "return_visit")
    await page.locator(f"[data-testid=ticket-row][data-number='{fresh.number}'][data-status=return_visit]").wait_for(
        timeout=TIMEOUT)
    assert (await rows(page))[-1] == fresh.number, "done tickets go below those still to work on"
    assert page.dialogs == []  # type: ignore[attr-defined]
    await page.get_by_test_id("lang-toggle").click()
    await page.locator("[data-testid=detail-status]", has_text="return visit").wait_for(timeout=TIMEOUT)
    await page.screenshot(path=str(DESK_SHOT), full_page=True)

    # re-dispatched to Shanghai: it leaves Beijing's page and arrives on Shanghai's
    moved = await site.dispatched("转派的工单", "beijing")
    await page.locator(f"[data-testid=ticket-row][data-number='{moved.number}']").wait_for(timeout=TIMEOUT)
    await site.cti.tickets.dispatch(moved.id, "repair", site.branches["shanghai"])
    await other.locator(f"[data-testid=ticket-row][data-number='{moved.number}']").wait_for(timeout=TIMEOUT)
    await page.locator(f"[data-testid=ticket-row][data-number='{moved.number}']").wait_for(state="detached",
                                                                                          timeout=TIMEOUT)

    # on a phone: the list, then the ticket alone with large buttons, then back
    phone = await logged_in_page(browser, site.base, "bj", PASSWORD, "/ui/department.html")
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.locator(f"[data-testid=ticket-row][data-number='{later.number}']").click()
    await status_is(phone, "dispatched")
    assert not await phone.locator("#list-pane").is_visible(), "one pane at a time on a phone"
    start = await phone.get_by_test_id("act-start").bounding_box()
    assert start is not None and start["height"] >= 44, "a touch target"
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing wider than the phone"
    await phone.screenshot(path=str(PHONE_SHOT), full_page=True)
    await phone.get_by_test_id("back").click()
    await phone.locator("#list-pane").wait_for(state="visible", timeout=TIMEOUT)


async def test_agents_are_refused_the_view(site: Site, browser: Any) -> None:
    await UserRepository(site.cti.db, FAST_HASHER).add("agent", PASSWORD, "agent")
    page = await logged_in_page(browser, site.base, "agent", PASSWORD, "/ui/department.html")
    await page.get_by_test_id("denied").wait_for(timeout=TIMEOUT)


async def test_the_engineers_ticket_shows_whom_to_call_and_where(site: Site, browser: Any) -> None:
    """The customer's name, phones (tel: links), address (with a map link) and the product with
    its earlier repairs: only those the engineer may see (docs/visibility.md)."""
    db = site.cti.db
    customer = await CustomerRepository(db).create(
        "陈静", "+86 139-1000-2000", label="mobile", province="北京市", city="北京市", district="海淀区",
        street="中关村大街", address_detail="1号 <b>",
    )
    async with db.session() as session:
        fridge = Product(customer_id=customer.id, category="冰箱", model="BCD-470", serial="RF-1")
        session.add(fridge)
        await session.commit()
        product_id = fridge.id
    tickets = site.cti.tickets
    earlier = await tickets.open("repair", "冰箱结霜", {"result": "fixed"}, customer_id=customer.id,
                                 product_id=product_id)
    await tickets.dispatch(earlier.id, "repair", site.branches["beijing"])
    hidden = await tickets.open("repair", "上海修过一次", {}, customer_id=customer.id, product_id=product_id)
    await tickets.dispatch(hidden.id, "repair", site.branches["shanghai"])
    now = await tickets.open("repair", "冰箱不制冷", {}, customer_id=customer.id, product_id=product_id)
    await tickets.dispatch(now.id, "repair", site.branches["beijing"])

    page = await logged_in_page(browser, site.base, "bj", PASSWORD, "/ui/department.html")
    await page.locator(f"[data-testid=ticket-row][data-number='{now.number}']").click()
    await page.get_by_test_id("parties").wait_for(timeout=TIMEOUT)
    assert await page.get_by_test_id("customer-name").inner_text() == "陈静"
    phone = page.get_by_test_id("customer-phone")
    assert (await phone.inner_text(), await phone.get_attribute("href")) == ("+86 139-1000-2000", "tel:+8613910002000")
    address = await page.get_by_test_id("customer-address").inner_text()
    assert "北京市 北京市 海淀区 中关村大街 1号 <b>" in address
    assert "keyword=" in (await page.get_by_test_id("customer-map").get_attribute("href") or "")
    assert "BCD-470" in await page.get_by_test_id("product").inner_text()
    history = await page.get_by_test_id("product-ticket").all_inner_texts()
    assert len(history) == 1 and earlier.number in history[0], "Shanghai's repair is not Beijing's to see"
    assert await page.locator("b").count() == 0, "an address is text, never markup"
    await page.screenshot(path=str(Path("/tmp/department-parties.png")), full_page=True)
