"""The agent desk's return visits in Chromium, against tests/ui_fake_server.py: the list of
due, calling and unreached visits (never the done ones), Call (the request is sent, the
visit shows as calling), a score recorded with remarks (the request carries them, the visit
leaves the list), the message said, a refusal said, text never markup, both languages."""

from __future__ import annotations

import pytest

from tests.ui_fake_server import XSS, sample_visit
from tests.unit.test_pages_fake import AGENT1, Desk, browser, desk, server, tid  # noqa: F401  (fixtures)

try:
    from playwright.async_api import expect
except ImportError:  # launched_chromium skips outside CI, fails in CI
    pass

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_desk_lists_visits_calls_one_and_records_a_score(desk: Desk) -> None:  # noqa: F811
    fake = desk.fake
    fake.visits = [
        sample_visit(1, customer_name=XSS, number="13800138000"),
        sample_visit(2, customer_name="王芳", status="unreached", attempts=3),
        sample_visit(3, customer_name="李雷", status="done", score=5),
        sample_visit(4, customer_name="韩梅梅", status="calling", attempts=1, agent="1002"),
    ]
    tab = await desk.agent("agent1", AGENT1)
    page = tab.page
    panel = page.locator(tid("visits"))
    items = panel.locator("li.visit")
    await expect(items).to_have_count(3)
    await expect(page.locator("#visits-empty")).to_be_hidden()
    # calling first, then due, then unreached (the order the desk asks in); never the done one
    assert await items.evaluate_all("(els) => els.map((e) => e.dataset.testid)") == [
        "visit-4", "visit-1", "visit-2"]
    await expect(page.locator(tid("visit-3"))).to_have_count(0)
    first = page.locator(tid("visit-1"))
    await expect(first).to_contain_text(XSS)  # as text
    assert await page.locator("img").count() == 0
    await expect(first).to_contain_text("R20261125-0001")
    await expect(page.locator(tid("visit-status-1"))).to_have_text("待回访")
    await expect(page.locator(tid("visit-status-2"))).to_have_text("未联系上")
    await expect(page.locator(tid("visit-2"))).to_contain_text("已尝试 3 次")
    await expect(page.locator(tid("visit-call-2"))).to_be_disabled()
    await expect(page.locator(tid("visit-call-4"))).to_be_enabled()

    await page.click(tid("visit-call-1"))
    await expect(page.locator(tid("visits-message"))).to_have_text("正在呼叫：请接听您的话机")
    assert len(fake.requests_to("POST", "/api/visits/1/call")) == 1
    await expect(first).to_have_attribute("data-status", "calling")
    await expect(page.locator(tid("visit-status-1"))).to_have_text("呼叫中")
    assert fake.visits[0]["agent"] == "1001", "called from the agent's own phone"

    await page.select_option(tid("visit-score-1"), "2")
    await page.fill(tid("visit-remarks-1"), "师傅态度一般")
    await page.click(tid("visit-record-1"))
    await expect(page.locator(tid("visits-message"))).to_have_text("R20261125-0001 回访已记录：2 分")
    (sent,) = fake.requests_to("POST", "/api/visits/1/result")
    assert sent["json"] == {"score": 2, "remarks": "师傅态度一般"}
    await expect(first).to_have_count(0)
    await expect(items).to_have_count(2)
    assert (fake.visits[0]["status"], fake.visits[0]["score"]) == ("done", 2)

    # the server refuses: said, nothing else changes
    fake.visits[3]["status"] = "cancelled"
    await page.click(tid("visit-record-4"))
    await expect(page.locator(tid("visits-message"))).to_contain_text("操作失败")
    await expect(page.locator(tid("visit-4"))).to_have_count(0)
    await expect(items).to_have_count(1)

    await page.click(tid("lang-toggle"))
    await expect(page.locator(tid("visit-call-2"))).to_have_text("Call")
    await expect(page.locator(tid("visit-status-2"))).to_have_text("Unreached")
    assert not tab.errors, tab.errors
