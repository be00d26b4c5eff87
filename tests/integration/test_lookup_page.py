"""The customer search page (/ui/lookup.html) in headless Chromium against the real server
(its web app on the demo data, no Asterisk: nothing here is telephony): an agent finds 张伟 by
each form of his number, by a ticket's number and by a product's serial, sees his card,
tickets and calls, corrects his address (audited by the route contract: tests/unit/
test_customer_search.py); staff find only the customers of tickets they may see.

Screenshot: /tmp/lookup-page.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from ctiserver.customers import Customer
from ctiserver.lab.demo import seed_demo
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.database import upgrade_schema
from ctiserver.users.tables import User
from tests.integration.browser import logged_in_page
from tests.staff import FAST_HASHER, add_staff

pytestmark = pytest.mark.integration

PASSWORD = "lookup page password"
SHOT = Path("/tmp/lookup-page.png")
TIMEOUT = 10_000


class Site:
    def __init__(self, cti: CtiServer, server: TestServer) -> None:
        self.cti = cti
        self.server = server
        self.base = str(server.make_url("")).rstrip("/")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        web={"session_secret": "lookup page secret"},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)  # not started: no Asterisk, the web app alone
    await seed_demo(cti.db, password=PASSWORD, hasher=FAST_HASHER)
    await add_staff(cti.db, "engineer", PASSWORD, "installation", None, "陈工")
    server = TestServer(cti.web_app)
    await server.start_server()
    try:
        yield Site(cti, server)
    finally:
        await server.close()
        await cti.db.close()


async def search(page: Any, text: str) -> list[str]:
    """The names found for ``text`` (after the page says how many, or none)."""
    await page.get_by_test_id("find-q").fill(text)
    await page.get_by_test_id("find-submit").click()
    status = page.get_by_test_id("find-status")
    await page.wait_for_function(
        "(text) => { const s = document.querySelector('[data-testid=find-status]'); "
        "return s && s.dataset.for === text && s.textContent && !s.textContent.endsWith('…'); }",
        arg=text, timeout=TIMEOUT,
    )
    assert await status.inner_text()
    return await page.locator("[data-testid=find-result] .choice-name").all_inner_texts()


async def test_an_agent_finds_a_customer_by_what_the_caller_says_and_corrects_the_address(
    site: Site, browser: Any,
) -> None:
    async with site.cti.db.session() as session:
        zhang = await session.scalar(select(Customer.id).where(Customer.name == "张伟"))
        agent = await session.scalar(select(User.id).where(User.username == "agent1001"))
    assert zhang is not None and agent is not None
    ticket = await site.cti.tickets.open("repair", "空调不制冷", {}, customer_id=zhang, user_id=agent)
    others = await site.cti.tickets.open("repair", "别人开的工单", {}, customer_id=zhang)

    page = await logged_in_page(browser, site.base, "agent1001", PASSWORD, "/ui/lookup.html")
    await page.set_viewport_size({"width": 1280, "height": 860})
    for said in ("13800138000", "138-0013-8000", "+86 138 0013 8000", ticket.number, "RF2022BJ000233", "张伟"):
        assert await search(page, said) == ["张伟"], said
    await page.get_by_test_id("card-name").wait_for(timeout=TIMEOUT)
    assert await page.get_by_test_id("card-name").inner_text() == "张伟"
    await page.locator("[data-testid=history-ticket]").first.wait_for(timeout=TIMEOUT)
    assert ticket.number in await page.get_by_test_id("customer-tickets").inner_text()
    assert others.number not in await page.get_by_test_id("customer-tickets").inner_text()
    assert await search(page, others.number) == [], "a ticket the agent may not see names no one"
    assert await search(page, "没有这个人") == []
    assert "没有找到" in await page.get_by_test_id("find-status").inner_text()

    assert await search(page, "13800138000") == ["张伟"]
    await page.get_by_test_id("edit-open").click()
    await page.get_by_test_id("edit-district").fill("海淀区")
    await page.get_by_test_id("edit-address_detail").fill("中关村大街1号 <b>")
    await page.screenshot(path="/tmp/lookup-edit.png", full_page=True)
    await page.get_by_test_id("edit-save").click()
    await page.get_by_test_id("edit-form").wait_for(state="hidden", timeout=TIMEOUT)
    assert "海淀区" in await page.get_by_test_id("card-address").inner_text()
    async with site.cti.db.session() as session:
        row = await session.get(Customer, zhang)
        assert row is not None and (row.district, row.address_detail) == ("海淀区", "中关村大街1号 <b>")
    assert await page.locator("b").count() == 0, "typed text stays text"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
    widest = await page.locator(".lookup-search").evaluate(
        "(panel) => [...panel.querySelectorAll('*')].filter((n) => n.getBoundingClientRect().right"
        " > panel.getBoundingClientRect().right || n.scrollWidth > n.clientWidth + 1).map((n) => n.tagName)")
    assert widest == [], "a long list of products stays inside the results"
    await page.screenshot(path=str(SHOT), full_page=True)

    # staff see only the customers of tickets they may see: no 张伟, and no edit for them
    staff = await logged_in_page(browser, site.base, "engineer", PASSWORD, "/ui/lookup.html")
    assert await search(staff, "13800138000") == []
