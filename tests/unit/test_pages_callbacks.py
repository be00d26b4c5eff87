"""The supervisor page's Callbacks tab in Chromium, against tests/ui_fake_server.py:
pending, in progress and finished tasks, the success rate and the time from the miss to
the callback, cancel, live changes from the websocket, text never markup, both languages;
the agent desk's callback offer."""

from __future__ import annotations

import pytest

from tests.ui_fake_server import XSS, sample_callback
from tests.unit.test_pages_fake import AGENT1, SUPERVISOR, Desk, browser, desk, server, tid  # noqa: F401  (fixtures)

try:
    from playwright.async_api import expect
except ImportError:  # launched_chromium skips outside CI, fails in CI
    pass

pytestmark = pytest.mark.asyncio(loop_scope="module")


def row(page: object, task_id: int) -> object:
    return page.locator(f'{tid("callback")}[data-id="{task_id}"]')  # type: ignore[attr-defined]


async def test_callbacks_tab_lists_counts_cancels_and_follows_pushes(desk: Desk) -> None:  # noqa: F811
    fake = desk.fake
    fake.callbacks = {
        1: sample_callback(1, reason=XSS, number="13800138000"),
        2: sample_callback(2, status="dialing", number="13900139000", attempts=1, outcome="no_answer"),
        3: sample_callback(3, status="connected", outcome="connected", agent="1001",
                           missed_at="2026-11-25T02:00:00+00:00", last_attempt_at="2026-11-25T02:05:30+00:00"),
        4: sample_callback(4, status="failed", outcome="busy", attempts=3),
        5: sample_callback(5, status="cancelled"),
    }
    tab = await desk.open("super", "supervisor.html")
    page = tab.page
    await expect(page.locator("#main")).to_be_visible()
    await desk.fake.wait_sockets(SUPERVISOR)
    await page.click(tid("tab-callbacks"))
    view = page.locator(tid("callbacks"))
    await expect(view).to_be_visible()
    await expect(page.locator(tid("callbacks-pending"))).to_have_text("1")
    await expect(page.locator(tid("callbacks-in-progress"))).to_have_text("1")
    await expect(page.locator(tid("callbacks-finished"))).to_have_text("3")
    await expect(page.locator(tid("callbacks-success"))).to_have_text("50%")  # 1 of connected + failed
    await expect(page.locator(tid("callbacks-median"))).to_have_text("5:30")
    await expect(row(page, 1)).to_contain_text(XSS)  # as text
    await expect(row(page, 1)).to_contain_text("排队放弃")
    assert await page.locator("img").count() == 0
    await expect(row(page, 2)).to_contain_text("无人接听")
    await expect(row(page, 3).locator(tid("callback-status"))).to_have_text("已接通")

    await row(page, 1).locator(tid("callback-cancel")).click()  # type: ignore[attr-defined]
    await expect(row(page, 1)).to_have_attribute("data-status", "cancelled")
    await expect(page.locator(tid("callbacks-pending"))).to_have_text("0")
    assert fake.requests_to("POST", "/api/callbacks/1/cancel")

    pushed = sample_callback(6, number="13700137000", missed_at="2026-11-26T02:00:00+00:00")
    assert await fake.push_supervisors({"type": "callback", "callback": pushed}) == 1
    await expect(row(page, 6)).to_have_attribute("data-status", "pending")
    await expect(page.locator(tid("callbacks-pending"))).to_have_text("1")
    pushed["status"], pushed["outcome"] = "connected", "connected"
    await fake.push_supervisors({"type": "callback", "callback": pushed})
    await expect(row(page, 6)).to_have_attribute("data-status", "connected")

    await page.click(tid("lang-toggle"))
    await expect(page.locator(tid("tab-callbacks"))).to_have_text("Callbacks")
    await expect(row(page, 3).locator(tid("callback-status"))).to_have_text("Connected")
    await page.click(tid("tab-live"))
    await expect(view).to_be_hidden()


async def test_the_agent_desk_shows_a_callback_offer(desk: Desk) -> None:  # noqa: F811
    fake = desk.fake
    tab = await desk.agent("agent1", AGENT1)
    page = tab.page
    task = sample_callback(7, number="13800138000", reason=XSS, wait_seconds=75.0, misses=3,
                           choices=["language:1", "main_menu:0"])
    offer = {"type": "callback_offer", "event": "ringing", "attempt": 9, "callback": task}
    assert await fake.push(AGENT1, offer) == 1
    card = page.locator(tid("callback-offer"))
    await expect(card).to_be_visible()
    await expect(card.locator(tid("callback-offer-title"))).to_have_text("回电 13800138000")
    await expect(card.locator(tid("callback-offer-event"))).to_have_text("系统回电：接起后将拨打客户")
    await expect(card.locator(tid("callback-offer-waited"))).to_have_text("1:15")
    await expect(card.locator(tid("callback-offer-why"))).to_have_text(f"排队放弃: {XSS}")
    await expect(card.locator(tid("callback-offer-misses"))).to_have_text("3")
    await expect(card.locator(tid("callback-offer-choices"))).to_have_text("language:1 · main_menu:0")
    assert await page.locator("img").count() == 0
    await fake.push(AGENT1, {**offer, "event": "answered"})
    await expect(card).to_have_attribute("data-event", "answered")
    await page.click(tid("lang-toggle"))
    await expect(card.locator(tid("callback-offer-event"))).to_have_text("The customer answered")
