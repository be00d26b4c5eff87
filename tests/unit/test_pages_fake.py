"""The agent desk and the supervisor view in Debian's Chromium, against tests/ui_fake_server.py.

The fake implements docs/agent-desktop.md with in-memory data; the tests push websocket
messages through it and read the requests the pages made. One browser and one server for
the module; each test has fresh data and its own browser contexts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from ctiserver.agents.model import AgentBoard, AgentState, PauseInterval, StateInterval
from ctiserver.calls.model import CallTracker
from ctiserver.live.wallboard import WallboardService
from ctiserver.stats.model import CallAnswered, CallOffered, StatsLog
from tests.api_contract import ContractCheck
from tests.chromium import launched_chromium
from tests.ui_fake_server import (
    OTHER_REPORT_DAY,
    PASSWORD,
    REPORT_TIMEZONE,
    XSS,
    FakeDesk,
    empty_daily_report,
    live_call,
    other_daily_report,
    report_agent,
    report_queue,
    report_today,
    sample_daily_report,
    sample_pop,
    sample_wallboard,
)

try:
    from playwright.async_api import Browser, BrowserContext, Page, expect
except ImportError:  # launched_chromium skips outside CI, fails in CI
    pass

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENT_SHOT = Path("/tmp/agent-page.png")
SUPERVISOR_SHOT = Path("/tmp/supervisor-page.png")
REPORT_SHOT = Path("/tmp/supervisor-report.png")
TIMEOUT_MS = 10_000
AGENT1, AGENT2, SUPERVISOR = 1, 2, 3


def tid(name: str) -> str:
    return f"[data-testid={name}]"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeDesk]:
    # every answer and push of the fake is checked against the real server's declarations
    fake = FakeDesk(ContractCheck.of_server())
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as browser:
        yield browser


@dataclasses.dataclass
class Tab:
    page: Page
    errors: list[str]
    dialogs: list[str]


class Desk:
    """Opens pages in fresh browser contexts and closes them after the test."""

    def __init__(self, browser: Browser, fake: FakeDesk) -> None:
        self.browser = browser
        self.fake = fake
        self.contexts: list[BrowserContext] = []
        self.tabs: list[Tab] = []

    async def open(
        self,
        username: str,
        page_name: str = "agent.html",
        *,
        lang: str | None = None,
        width: int = 1500,
        height: int = 1000,
    ) -> Tab:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        if lang is not None:
            await context.add_init_script(f"localStorage.setItem('ctiserver.lang', '{lang}')")
        self.contexts.append(context)
        page = await context.new_page()
        tab = Tab(page, [], [])
        page.on("pageerror", lambda error: tab.errors.append(str(error)))

        def on_dialog(dialog: Any) -> None:
            tab.dialogs.append(dialog.message)
            asyncio.ensure_future(dialog.dismiss())

        page.on("dialog", on_dialog)
        self.tabs.append(tab)
        await page.goto(f"{self.fake.base}/ui/{page_name}")
        await expect(page.locator("#login")).to_be_visible()
        await page.fill("#login-form input[name=username]", username)
        await page.fill("#login-form input[name=password]", PASSWORD)
        await page.click("#login-form button[type=submit]")
        return tab

    async def agent(self, username: str, user_id: int, **options: Any) -> Tab:
        """The agent desk, logged in, its websocket connected (hello received)."""
        tab = await self.open(username, "agent.html", **options)
        await expect(tab.page.locator("#main")).to_be_visible()
        await self.fake.wait_sockets(user_id)
        await expect(tab.page.locator(tid("connection"))).to_have_attribute("data-state", "online")
        return tab

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        async with asyncio.timeout(5):
            while any(self.fake.sockets.values()):
                await asyncio.sleep(0.02)
        assert self.fake.contract is not None
        assert self.fake.contract.problems == [], self.fake.contract.problems
        for tab in self.tabs:
            assert tab.errors == [], tab.errors
            assert tab.dialogs == [], tab.dialogs


@pytest_asyncio.fixture(loop_scope="module")
async def desk(server: FakeDesk, browser: Browser) -> AsyncIterator[Desk]:
    server.reset()
    assert server.contract is not None
    server.contract.problems.clear()
    opened = Desk(browser, server)
    try:
        yield opened
    finally:
        await opened.close()


async def ring(fake: FakeDesk, user_id: int, event: str = "ringing", **pop: Any) -> dict[str, Any]:
    data = pop.pop("data", None) or sample_pop(**pop)
    sent = await fake.push(user_id, {"type": "pop", "event": event, "pop": data})
    assert sent == 1
    return data


# ---- agent desk


async def test_login_state_badge_pause_with_reason_and_ready(desk: Desk) -> None:
    tab = await desk.agent("agent1", AGENT1)
    page = tab.page
    await expect(page.locator("#whoami")).to_have_text("王小明 (agent1)")
    await expect(page.locator("#agent-ext")).to_have_text("分机 1001")
    state = page.locator(tid("state"))
    await expect(state).to_have_text("未签入")
    await expect(page.locator(tid("pause-button"))).to_be_disabled()
    await expect(page.locator(tid("logout-button"))).to_be_hidden()

    await page.click(tid("login-button"))
    await expect(state).to_have_text("就绪")
    await expect(state).to_have_attribute("data-state", "ready")
    assert desk.fake.requests_to("POST", "/api/agent/login")[0]["json"] == {}
    await expect(page.locator(tid("login-button"))).to_be_hidden()
    await expect(page.locator(tid("ready-button"))).to_be_disabled()
    await expect(page.locator(tid("state-timer"))).to_have_text("0:00")
    await expect(page.locator(tid("state-timer"))).to_have_text("0:01", timeout=3000)

    await page.select_option(tid("pause-reason"), "training")
    await page.click(tid("pause-button"))
    await expect(state).to_have_text("暂停（培训）")
    await expect(state).to_have_attribute("data-state", "paused")
    assert desk.fake.requests_to("POST", "/api/agent/pause")[0]["json"] == {"reason": "training"}

    await page.click(tid("ready-button"))
    await expect(state).to_have_text("就绪")
    await page.click(tid("logout-button"))
    await expect(state).to_have_text("未签入")
    assert [r["path"] for r in desk.fake.requests if r["path"].startswith("/api/agent/")] == [
        "/api/agent/login",
        "/api/agent/pause",
        "/api/agent/ready",
        "/api/agent/logout",
    ]

    # a change pushed by the server (e.g. a call rings) shows without any click
    agent = dict(desk.fake.agents[AGENT1], state="ringing", since=None)
    agent.pop("skills")
    await desk.fake.push(AGENT1, {"type": "agent", "agent": agent})
    await expect(state).to_have_text("振铃中")
    await expect(page.locator(tid("login-button"))).to_be_hidden()
    await expect(page.locator(tid("logout-button"))).to_be_disabled()


async def test_pop_reaches_only_its_agent_and_follows_the_call(desk: Desk) -> None:
    first = (await desk.agent("agent1", AGENT1)).page
    second = (await desk.agent("agent2", AGENT2)).page
    await expect(first.locator(tid("pop"))).to_be_hidden()

    pop = await ring(desk.fake, AGENT1)
    view = first.locator(tid("pop"))
    await expect(view).to_be_visible()
    await expect(first.locator(tid("pop-caller-number"))).to_have_text("13800138000")
    await expect(first.locator(tid("pop-caller-name"))).to_have_text("张伟")
    await expect(first.locator(tid("pop-status"))).to_have_text("振铃中")
    await expect(first.locator(tid("pop-customer-name"))).to_have_text(["张伟"])
    await expect(first.locator(tid("vip-badge"))).to_be_visible()
    card = first.locator(tid("customer-card"))
    await expect(card).to_contain_text("广东省 深圳市 南山区 科技园路 1号 A栋 1201")
    await expect(card).to_contain_text("KFR-35GW/BP3")
    await expect(card.locator(tid("open-tickets"))).to_contain_text("T-1501")
    await expect(card).to_contain_text("李娜")  # a recent call's agent
    path = first.locator(tid("ivr-path"))
    await expect(path.locator("li")).to_have_count(6)
    await expect(path.locator("li").nth(2)).to_contain_text("main_menu")
    await expect(path.locator("li").nth(2).locator("kbd")).to_have_text("1")
    await expect(first.locator("[data-var=product]")).to_have_text("空调")
    await expect(first.locator("[data-var=language]")).to_have_text("中文")
    await expect(view).to_contain_text("0:35")  # waited in the queue
    # the history tab follows the customer
    await expect(first.locator(tid("history"))).to_contain_text("洗衣机脱水时噪音大")

    # the other agent's desk got nothing
    await expect(second.locator(tid("pop"))).to_be_hidden()
    await expect(second.locator("#pop-empty")).to_be_visible()
    assert await second.locator(tid("pop-caller-number")).count() == 0

    await ring(desk.fake, AGENT1, "answered", data=dict(pop, answered_at=pop["ringing_at"]))
    await expect(first.locator(tid("pop-status"))).to_have_text("通话中")
    await expect(first.locator(tid("pop-status"))).to_have_attribute("data-status", "answered")
    await expect(first.locator(tid("pop-close"))).to_have_count(0)

    await ring(desk.fake, AGENT1, "ended", data=sample_pop(ended=True))
    await expect(first.locator(tid("pop-status"))).to_have_text("已结束")
    await expect(view).to_be_visible()  # kept until the agent closes it
    await expect(first.locator(tid("pop-customer-name"))).to_have_text(["张伟"])
    await first.click(tid("pop-close"))
    await expect(view).to_be_hidden()
    await expect(first.locator("#pop-empty")).to_be_visible()

    # a call rung and then given to someone else: withdrawn removes the pop
    await ring(
        desk.fake, AGENT1, call_id="1718000999.1", caller_number="13911112222", caller_name="钱七"
    )
    await expect(first.locator(tid("pop-caller-name"))).to_have_text("钱七")
    await ring(desk.fake, AGENT1, "withdrawn", data=sample_pop("1718000999.1"))
    await expect(view).to_be_hidden()
    await expect(second.locator(tid("pop"))).to_be_hidden()


async def test_data_is_text_never_markup(desk: Desk) -> None:
    tab = await desk.agent("agent1", AGENT1)
    page = tab.page
    customer = dict(
        desk.fake.customers[1],
        name=XSS,
        products=[],
        open_tickets=[dict(desk.fake.customers[1]["open_tickets"][0], summary=XSS)],
    )
    pop = sample_pop(caller_name=XSS, customers=[customer])
    pop["ivr"]["variables"]["product"] = XSS
    pop["ivr"]["path"][0]["node"] = XSS
    await ring(desk.fake, AGENT1, data=pop)
    await expect(page.locator(tid("pop-caller-name"))).to_have_text(XSS)
    await expect(page.locator(tid("pop-customer-name"))).to_have_text([XSS])
    await expect(page.locator(tid("open-tickets"))).to_contain_text(XSS)
    await expect(page.locator("[data-var=product]")).to_have_text(XSS)
    await expect(page.locator(tid("ivr-path"))).to_contain_text(XSS)
    assert await page.locator("img").count() == 0
    await page.wait_for_timeout(200)  # an onerror would have fired by now
    assert tab.dialogs == []


async def test_the_badge_follows_the_servers_pushes_and_sign_in_comes_back_after_sign_out(desk: Desk) -> None:
    """ringing -> on call -> wrap-up -> ready, a supervisor's pause by name, then 签出 and
    签入队列 again: no reload (the pushes are the declared ``agent`` shape: the fake checks)."""
    page = (await desk.agent("agent1", AGENT1)).page
    state = page.locator(tid("state"))
    await page.click(tid("login-button"))
    await expect(state).to_have_text("就绪")
    agent = {key: value for key, value in desk.fake.agents[AGENT1].items() if key != "skills"}
    for pushed, shown in (
        ({"state": "ringing", "call_id": "1718000000.42"}, "振铃中"),
        ({"state": "on_call"}, "通话中"),
        ({"state": "wrap_up"}, "话后处理"),
        ({"state": "ready", "call_id": None}, "就绪"),
        ({"state": "paused", "reason": "meeting", "paused_by": "赵主管"}, "暂停（会议，由赵主管设置）"),
        ({"state": "ready", "reason": None, "paused_by": None}, "就绪"),
    ):
        agent.update(pushed, since=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"))
        desk.fake.agents[AGENT1].update(agent)
        await desk.fake.push(AGENT1, {"type": "agent", "agent": dict(agent)})
        await expect(state).to_have_text(shown)
        await expect(state).to_have_attribute("data-state", pushed["state"])
    await expect(page.locator(tid("state-timer"))).to_have_text("0:00")
    await page.click(tid("logout-button"))
    await expect(state).to_have_text("未签入")
    await expect(page.locator(tid("login-button"))).to_be_enabled()
    await page.click(tid("login-button"))
    await expect(state).to_have_text("就绪")


async def test_the_pop_lists_the_tickets_opened_on_the_call(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    opened = {**desk.fake.customers[1]["open_tickets"][0], "id": 777, "number": "R20261206-0007", "status": "new",
              "summary": "IVR：空调不制冷", "call_linkedid": "1718000000.42", "source": "ivr"}
    await ring(desk.fake, AGENT1, tickets=[opened])
    box = page.locator(tid("pop-call-tickets"))
    await expect(box).to_be_visible()
    await expect(box).to_contain_text("本次来电已开工单")
    await expect(box).to_contain_text("R20261206-0007")
    await ring(desk.fake, AGENT1, call_id="1718000000.43")
    await expect(page.locator(tid("pop-call-tickets"))).to_be_hidden()


async def test_open_ticket_from_the_pop(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    await page.click(tid("login-button"))
    await expect(page.locator(tid("state"))).to_have_text("就绪")
    pop = await ring(desk.fake, AGENT1, "answered", answered=True)
    on_call = {key: value for key, value in desk.fake.agents[AGENT1].items() if key != "skills"}
    on_call.update(state="on_call", since=pop["answered_at"], call_id=pop["call_id"])
    await desk.fake.push(AGENT1, {"type": "agent", "agent": on_call})
    await expect(page.locator(tid("state"))).to_have_text("通话中")
    await expect(page.locator(tid("pop-status"))).to_have_text("通话中")
    form = page.locator(tid("ticket-form"))
    await expect(form).to_be_hidden()
    await page.click(tid("ticket-open"))
    await expect(form).to_be_visible()
    await expect(page.locator(tid("ticket-summary"))).to_have_value("维修：空调")  # from the IVR
    await expect(page.locator(tid("ticket-product"))).to_have_value("11")  # the air conditioner
    await expect(page.locator(tid("ticket-product")).locator("option")).to_have_count(3)
    await page.fill(tid("ticket-summary"), "维修：空调不制冷，外机不转")
    # the repair's own fields, from GET /api/meta
    fields = page.locator(tid("ticket-fields"))
    await expect(fields).to_contain_text("故障代码")
    # only what the agent fills: the appointment, the engineer, the parts and the result are the department's
    for theirs in ("engineer_id", "appointment_start", "appointment_end", "parts", "result", "distance_km"):
        await expect(page.locator(tid(f"ticket-field-{theirs}"))).to_have_count(0)
    # pre-filled from the card and the chosen product
    await expect(page.locator(tid("ticket-field-address"))).to_have_value("广东省 深圳市 南山区 科技园路 1号 A栋 1201")
    await expect(page.locator(tid("ticket-field-product_model"))).to_have_value("KFR-35GW/BP3")
    await expect(page.locator(tid("ticket-field-serial"))).to_have_value("AC2023051800123")
    await page.select_option(tid("ticket-product"), "12")  # another product: its model and serial follow
    await expect(page.locator(tid("ticket-field-serial"))).to_have_value("WM2022110900077")
    await page.fill(tid("ticket-field-serial"), "WM-typed")  # what the agent types stays
    await page.select_option(tid("ticket-product"), "11")
    await expect(page.locator(tid("ticket-field-product_model"))).to_have_value("KFR-35GW/BP3")
    await expect(page.locator(tid("ticket-field-serial"))).to_have_value("WM-typed")
    await page.fill(tid("ticket-field-serial"), "AC2023051800123")
    await page.fill(tid("ticket-field-fault_code"), "E3")
    # the product list stays inside the form, however long its names
    inside = await page.evaluate("""() => {
        const form = document.querySelector('[data-testid=ticket-form]').getBoundingClientRect();
        const list = document.querySelector('[data-testid=ticket-product]').getBoundingClientRect();
        return list.left >= form.left && list.right <= form.right;
    }""")
    assert inside, "the product list spills past the form"
    await page.screenshot(path=str(AGENT_SHOT), full_page=True)

    await page.click(tid("ticket-submit"))
    await expect(page.locator(tid("ticket-number"))).to_have_text("T-2001")
    assert desk.fake.requests_to("POST", "/api/tickets")[0]["json"] == {
        "type": "repair",
        "summary": "维修：空调不制冷，外机不转",
        "customer_id": 1,
        "product_id": 11,
        "call_id": pop["call_id"],
        "fields": {"fault_code": "E3", "product_model": "KFR-35GW/BP3", "serial": "AC2023051800123",
                   "address": "广东省 深圳市 南山区 科技园路 1号 A栋 1201"},
    }
    await expect(form).to_be_hidden()
    tickets = page.locator(tid("open-tickets"))
    await expect(tickets.locator("li")).to_have_count(2)
    await expect(tickets.locator("li").first).to_contain_text("T-2001")
    await expect(page.locator(tid("history-tickets"))).to_contain_text("T-2001")

    # another type; the summary follows the type until the agent edits it
    await page.click(tid("ticket-open"))
    await page.select_option(tid("ticket-type"), "complaint")
    await expect(page.locator(tid("ticket-summary"))).to_have_value("投诉：空调")
    await page.select_option(tid("ticket-product"), "")
    await expect(page.locator(tid("ticket-field-fault_code"))).to_have_count(0)
    await expect(page.locator(tid("ticket-field-about")).locator("option")).to_have_count(5)
    await page.select_option(tid("ticket-field-about"), "engineer")
    await page.click(tid("ticket-submit"))
    await expect(page.locator(tid("ticket-number"))).to_have_text("T-2002")
    sent = desk.fake.requests_to("POST", "/api/tickets")[1]["json"]
    assert sent == {
        "type": "complaint",
        "summary": "投诉：空调",
        "customer_id": 1,
        "call_id": pop["call_id"],
        "fields": {"about": "engineer"},
    }


async def test_quick_create_when_no_customer_matches(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    await ring(desk.fake, AGENT1, caller_number="13955550000", caller_name=None)
    await expect(page.locator(tid("pop-caller-number"))).to_have_text("13955550000")
    await expect(page.locator(tid("pop-customer-name"))).to_have_count(0)
    create = page.locator(tid("quick-create"))
    await expect(create).to_be_visible()
    await expect(page.locator(tid("create-phone"))).to_have_value("13955550000")
    await page.fill(tid("create-name"), "刘芳")
    await page.fill(tid("create-province"), "湖北省")
    await page.fill(tid("create-city"), "武汉市")
    await page.fill(tid("create-detail"), "洪山区珞喻路 100 号")
    await page.click(tid("create-submit"))
    await expect(page.locator(tid("pop-customer-name"))).to_have_text(["刘芳"])
    assert desk.fake.requests_to("POST", "/api/customers")[0]["json"] == {
        "name": "刘芳",
        "phone": "13955550000",
        "province": "湖北省",
        "city": "武汉市",
        "address_detail": "洪山区珞喻路 100 号",
    }
    await expect(page.locator(tid("customer-address"))).to_have_text(
        "湖北省 武汉市 洪山区珞喻路 100 号"
    )
    # the new customer is the ticket's customer
    await page.click(tid("ticket-open"))
    await expect(page.locator(tid("ticket-form"))).to_contain_text("刘芳")
    await page.click(tid("ticket-submit"))
    await expect(page.locator(tid("ticket-number"))).to_have_text("T-2001")
    assert desk.fake.requests_to("POST", "/api/tickets")[0]["json"]["customer_id"] == 100


async def test_several_matches_are_listed_to_pick_from(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    await ring(desk.fake, AGENT1, caller_number="020-12345678", caller_name=None)
    choices = page.locator(tid("pop-customer-choice"))
    await expect(choices).to_have_count(2)
    await expect(page.locator(tid("pop-customer-name"))).to_have_count(0)
    await choices.filter(has_text="陈建国").click()
    await expect(page.locator(tid("pop-customer-name"))).to_have_text(["陈建国"])
    await expect(page.locator(tid("customer-card"))).to_contain_text("JSQ25-13")
    await page.click(tid("change-customer"))
    await expect(choices).to_have_count(2)


async def test_a_user_without_an_agent_gets_no_desk_controls(desk: Desk) -> None:
    tab = await desk.open("super", "agent.html")
    page = tab.page
    await expect(page.locator("#no-agent")).to_be_visible()
    await expect(page.locator("#no-agent")).to_contain_text("没有绑定坐席分机")
    await expect(page.locator(tid("login-button"))).to_be_hidden()
    await expect(page.locator(tid("state"))).to_be_hidden()
    await expect(page.locator(tid("kb-search"))).to_be_attached()  # the knowledge base still works


async def test_knowledge_base_search_and_read_counter(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    await page.click(tid("tab-kb"))
    results = page.locator(tid("kb-result"))
    await expect(results).to_have_count(3)  # the Chinese articles, most read first
    await expect(results.first).to_contain_text("空调不制冷的排查步骤")
    await page.fill(tid("kb-search"), "E4")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("洗衣机显示 E4 故障代码")
    await expect(results.first).to_contain_text("阅读 5 次")
    last_search = desk.fake.requests_to("GET", "/api/kb")[-1]["query"]
    assert last_search == {"q": "E4", "lang": "zh"}
    await results.first.click()
    await expect(page.locator(tid("kb-body"))).to_contain_text("进水超时")
    await expect(page.locator(tid("kb-reads"))).to_have_text("阅读 6 次")
    assert len(desk.fake.requests_to("POST", "/api/kb/2/read")) == 1
    assert desk.fake.articles[1]["reads"] == 6


async def test_language_toggle_switches_labels_and_is_remembered(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    toggle = page.locator(tid("lang-toggle"))
    await expect(toggle).to_have_text("English")
    await expect(page.locator(tid("login-button"))).to_have_text("签入队列")
    await ring(desk.fake, AGENT1)
    await expect(page.locator(tid("pop-status"))).to_have_text("振铃中")

    await toggle.click()
    await expect(toggle).to_have_text("中文")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(tid("login-button"))).to_have_text("Log in to queues")
    await expect(page.locator(tid("state"))).to_have_text("Logged out")
    await expect(page.locator(tid("ready-button"))).to_have_text("Ready")
    await expect(page.locator(tid("pause-button"))).to_have_text("Pause")
    await expect(page.locator(tid("pause-reason")).locator("option").first).to_have_text("Lunch")
    await expect(page.locator(tid("tab-kb"))).to_have_text("Knowledge base")
    await expect(page.locator(tid("pop-status"))).to_have_text("Ringing")
    await expect(page.locator(tid("ticket-open"))).to_have_text("Open ticket")
    await expect(page.locator("[data-var=language]")).to_have_text("Chinese")
    await expect(page.locator(tid("pop-caller-name"))).to_have_text("张伟")  # data unchanged
    assert desk.fake.requests_to("GET", "/api/kb")[-1]["query"]["lang"] == "en"

    await page.reload()
    await expect(page.locator(tid("login-button"))).to_have_text("Log in to queues")
    # the server sends the live pop again to a reconnecting page
    await expect(page.locator(tid("pop-status"))).to_have_text("Ringing")
    await page.locator(tid("lang-toggle")).click()
    await expect(page.locator(tid("login-button"))).to_have_text("签入队列")


async def test_reconnects_and_keeps_the_pop(desk: Desk) -> None:
    page = (await desk.agent("agent1", AGENT1)).page
    await ring(desk.fake, AGENT1, "answered", answered=True)
    await page.click(tid("ticket-open"))
    await page.fill(tid("ticket-summary"), "正在输入的摘要")
    await desk.fake.drop_sockets(AGENT1)
    await expect(page.locator(tid("connection"))).to_have_attribute("data-state", "offline")
    await desk.fake.wait_sockets(AGENT1)  # reconnected; the fake sent the live pop again
    await expect(page.locator(tid("connection"))).to_have_attribute("data-state", "online")
    await expect(page.locator(tid("pop-status"))).to_have_text("通话中")
    await expect(page.locator(tid("ticket-summary"))).to_have_value("正在输入的摘要")

    # the call ends while the page is disconnected: no pop comes back, the page marks it ended
    desk.fake.live_pops.clear()
    await desk.fake.drop_sockets(AGENT1)
    await desk.fake.wait_sockets(AGENT1)
    await expect(page.locator(tid("pop-status"))).to_have_text("已结束", timeout=6000)


# ---- supervisor view


async def test_supervisor_sees_queues_waiting_calls_and_live_updates(desk: Desk) -> None:
    # in the snapshot the websocket sends first: a call still in the IVR
    desk.fake.calls["1718000050.2"] = live_call(
        "1718000050.2",
        "13122223333",
        "郑女士",
        queue=None,
        answered=False,
        duration=14.0,
        wait=None,
    )
    tab = await desk.open("super", "supervisor.html")
    page = tab.page
    await expect(page.locator("#main")).to_be_visible()
    await desk.fake.wait_sockets(SUPERVISOR)
    rows = page.locator(tid("queue-row"))
    await expect(rows).to_have_count(3)
    service = page.locator(f"{tid('queue-row')}[data-queue=售后]")
    await expect(service.locator(tid("service-level"))).to_have_text("81%")
    await expect(service.locator(tid("queue-waiting"))).to_have_text("2")
    await expect(
        page.locator(f"{tid('queue-row')}[data-queue=English] {tid('service-level')}")
    ).to_have_text("—")
    await expect(page.locator(tid("agent-row"))).to_have_count(4)
    await expect(page.locator(f"{tid('agent-row')}[data-extension='1003']")).to_contain_text(
        "暂停（午餐）"
    )
    await expect(page.locator(tid("waiting-call"))).to_have_count(2)
    in_ivr = page.locator(f"{tid('active-call')}[data-call-id='1718000050.2']")
    await expect(in_ivr).to_have_attribute("data-state", "ivr")
    await expect(in_ivr).to_contain_text("郑女士")
    await expect(page.locator(tid("active-call"))).to_have_count(1)
    # which servers are up (GET /api/nodes), in the header
    node = page.locator(tid("node-fake"))
    await expect(node).to_have_attribute("data-up", "true")
    await expect(node).to_contain_text("fake (本机)")

    # a new caller waits: pushed wallboard
    board = sample_wallboard()
    board["queues"][1].update(waiting=1, longest_wait=5.0, offered=19)
    board["waiting_calls"].append(
        {
            "call_id": "1718000200.1",
            "caller_number": "18600001111",
            "caller_name": "吴先生",
            "queue": "投诉",
            "waiting_seconds": 5.0,
        }
    )
    assert await desk.fake.push_supervisors({"type": "wallboard", "wallboard": board}) == 1
    waiting = page.locator(f"{tid('waiting-call')}[data-call-id='1718000200.1']")
    await expect(waiting).to_be_visible()
    await expect(waiting).to_contain_text("18600001111")
    await expect(waiting).to_contain_text("吴先生")
    await expect(waiting).to_contain_text("0:05")
    await expect(waiting).to_contain_text("0:06", timeout=3000)  # counts up between messages
    complaints = page.locator(f"{tid('queue-row')}[data-queue=投诉]")
    await expect(complaints.locator(tid("queue-offered"))).to_have_text("19")
    await expect(complaints).to_contain_text("0:0")

    # an agent answers it: the call update moves it from waiting to active
    call = live_call(
        "1718000200.1",
        "18600001111",
        "吴先生",
        queue="投诉",
        agent="王小明",
        duration=9.0,
        wait=6.0,
    )
    await desk.fake.push_supervisors({"type": "call", "event": "updated", "call": call})
    active = page.locator(f"{tid('active-call')}[data-call-id='1718000200.1']")
    await expect(active).to_be_visible()
    await expect(active).to_have_attribute("data-state", "answered")
    await expect(active).to_contain_text("王小明")
    await expect(active.locator(tid("call-state"))).to_have_text("通话中")
    await expect(waiting).to_have_count(0)
    await expect(page.locator(tid("waiting-call"))).to_have_count(2)
    await page.screenshot(path=str(SUPERVISOR_SHOT), full_page=True)

    await page.click(tid("lang-toggle"))
    await expect(active.locator(tid("call-state"))).to_have_text("Answered")
    await expect(page.locator(f"{tid('agent-row')}[data-extension='1003']")).to_contain_text(
        "Paused (Lunch)"
    )
    await expect(page.locator("thead").first).to_contain_text("Service level")

    await desk.fake.push_supervisors(
        {
            "type": "call",
            "event": "ended",
            "call": dict(call, state="ended", ended_at=call["started_at"]),
        }
    )
    await expect(active).to_have_count(0)
    await expect(page.locator(tid("active-call"))).to_have_count(1)


async def test_supervisor_view_refuses_agents(desk: Desk) -> None:
    tab = await desk.open("agent1", "supervisor.html")
    page = tab.page
    denied = page.locator(tid("denied"))
    await expect(denied).to_be_visible()
    await expect(denied).to_contain_text("仅限班长")
    await expect(page.locator("#main")).to_be_hidden()
    await page.click(tid("lang-toggle"))
    await expect(denied).to_contain_text("Supervisors only")
    assert desk.fake.requests_to("GET", "/api/wallboard") == []


# ---- supervisor: the daily report


def report_row(page: Page, queue: str) -> Any:
    return page.locator(f'{tid("report-queue")}[data-queue="{queue}"]')


def report_agent_row(page: Page, interface: str) -> Any:
    return page.locator(f'{tid("report-agent")}[data-interface="{interface}"]')


async def expect_figures(row: Any, **figures: str) -> None:
    for key, text in figures.items():
        await expect(row.locator(f"[data-figure={key}]")).to_have_text(text)


async def open_report(desk: Desk, **options: Any) -> Tab:
    """The supervisor page, logged in, on its Reports tab with today's report shown."""
    tab = await desk.open("super", "supervisor.html", **options)
    page = tab.page
    await expect(page.locator("#main")).to_be_visible()
    await desk.fake.wait_sockets(SUPERVISOR)
    await page.click(tid("tab-report"))
    await expect(page.locator(tid("report"))).to_have_attribute("aria-busy", "false")
    await expect(page.locator(tid("report-date"))).to_have_value(report_today())
    return tab


async def choose_day(page: Page, day: str) -> None:
    await page.fill(tid("report-date"), day)
    await page.click(tid("report-load"))
    await expect(page.locator(tid("report"))).to_have_attribute("aria-busy", "false")


async def test_report_shows_todays_figures_per_queue_and_agent(desk: Desk) -> None:
    tab = await open_report(desk)
    page = tab.page
    today = report_today()
    assert desk.fake.requests_to("GET", "/api/reports/daily")[0]["query"] == {}  # the server's day
    await expect(page.locator("#live-view")).to_be_hidden()
    await expect(page.locator(tid("tab-report"))).to_have_attribute("aria-selected", "true")
    await expect(page.locator(tid("report-heading"))).to_have_text(
        f"{today} 日报（{REPORT_TIMEZONE}）"
    )
    await expect(page.locator(tid("report-error"))).to_be_hidden()
    await expect(page.locator(tid("report-no-calls"))).to_be_hidden()
    await expect(page.locator(tid("report-queue"))).to_have_count(3)
    await expect_figures(
        report_row(page, "售后"),
        offered="126",
        answered="112",
        abandoned="9",
        unanswered="3",
        answered_within_sl="98",
        service_level="81%",
        average_answer_seconds="0:14",
        longest_answer_wait="1:35",
        average_abandon_seconds="0:41",
    )
    await expect_figures(report_row(page, "投诉"), offered="18", service_level="56%")
    await expect_figures(
        report_row(page, "English"),
        offered="0",
        answered="0",
        service_level="—",
        average_answer_seconds="—",
        longest_answer_wait="0:00",
        average_abandon_seconds="—",
    )

    await expect(page.locator(tid("report-agent"))).to_have_count(4)
    liu = report_agent_row(page, "PJSIP/1003")
    await expect(liu).to_contain_text("刘洋")  # the live view's name for the interface
    await expect_figures(
        liu, answered="15", **{"state-paused": "40:00", "state-on_call": "1:15:00"}
    )
    # longest first; "" is a pause without a reason
    await expect(liu.locator(tid("report-pause"))).to_have_text(
        ["午餐 30:00", "话后工作 10:00", "未注明原因 5:00"]
    )
    wang = report_agent_row(page, "PJSIP/1001")
    await expect_figures(
        wang,
        answered="70",
        **{"state-on_call": "4:00:00", "state-logged_out": "10:00", "state-paused": "0:00"},
    )
    await expect(wang.locator("[data-figure=pause]")).to_have_text("—")
    await page.screenshot(path=str(REPORT_SHOT), full_page=True)

    await page.click(tid("tab-live"))
    await expect(page.locator(tid("report"))).to_be_hidden()
    await expect(page.locator(tid("queue-row"))).to_have_count(3)


async def test_report_of_another_day_and_of_a_day_without_calls(desk: Desk) -> None:
    page = (await open_report(desk)).page
    await choose_day(page, OTHER_REPORT_DAY)
    await expect(page.locator(tid("report-heading"))).to_contain_text(OTHER_REPORT_DAY)
    assert desk.fake.requests_to("GET", "/api/reports/daily")[-1]["query"] == {
        "date": OTHER_REPORT_DAY
    }
    await expect_figures(
        report_row(page, "售后"),
        offered="2",
        answered="1",
        abandoned="1",
        unanswered="0",
        service_level="50%",
        average_answer_seconds="0:12",
        average_abandon_seconds="0:35",
    )
    await expect_figures(report_row(page, "投诉"), offered="1", service_level="100%")
    await expect(page.locator(tid("report-agent"))).to_have_count(2)
    await expect_figures(report_agent_row(page, "PJSIP/1001"), **{"state-on_call": "4:48"})
    await expect(report_agent_row(page, "PJSIP/1003").locator(tid("report-pause"))).to_have_text(
        ["午餐 30:00"]
    )
    await expect(page.locator(tid("report-no-calls"))).to_be_hidden()

    # a day without calls: every queue at zero, said in so many words, no agent rows
    await choose_day(page, "2026-11-24")
    await expect(page.locator(tid("report-no-calls"))).to_have_text("2026-11-24 没有来电。")
    await expect(page.locator(tid("report-queue"))).to_have_count(3)
    await expect_figures(report_row(page, "售后"), offered="0", answered="0", service_level="—")
    await expect(page.locator(tid("report-agent"))).to_have_count(0)
    await expect(page.locator("#report-agents")).to_have_text("当天没有坐席记录")

    # picking a date in the input is enough (change), no button needed
    await page.fill(tid("report-date"), OTHER_REPORT_DAY)
    await expect_figures(report_row(page, "售后"), offered="2")
    await expect(page.locator(tid("report-no-calls"))).to_be_hidden()


async def test_report_errors_show_in_the_page(desk: Desk) -> None:
    page = (await open_report(desk)).page
    error = page.locator(tid("report-error"))
    # a date the input accepts and the server refuses (year 10000)
    await choose_day(page, "10000-01-01")
    await expect(error).to_be_visible()
    await expect(error).to_have_text("无法加载报表：date must be YYYY-MM-DD")
    await expect(page.locator("#report-figures")).to_be_hidden()  # no stale figures
    await expect(page.locator(tid("report-heading"))).to_have_text("")

    desk.fake.report_failure = (500, "database unavailable")
    await choose_day(page, OTHER_REPORT_DAY)
    await expect(error).to_have_text("无法加载报表：database unavailable")

    desk.fake.report_failure = None
    await page.click(tid("report-load"))
    await expect(error).to_be_hidden()
    await expect_figures(report_row(page, "售后"), offered="2")

    # an incomplete date typed in the input is refused before asking the server
    asked = len(desk.fake.requests_to("GET", "/api/reports/daily"))
    await page.locator(tid("report-date")).focus()
    await page.keyboard.press("Backspace")  # clears one part (month, day or year) of the date
    await page.click(tid("report-load"))
    await expect(error).to_have_text("日期无效，请选择完整的年、月、日。")
    await expect(page.locator("#report-figures")).to_be_hidden()
    assert len(desk.fake.requests_to("GET", "/api/reports/daily")) == asked


async def test_report_names_are_text_never_markup(desk: Desk) -> None:
    today = report_today()
    report = desk.fake.reports[today]
    report["queues"][0]["name"] = XSS
    report["agents"][XSS] = {
        "answered": 1,
        "state_seconds": {XSS: 60.0},
        "pause_seconds": {XSS: 60.0},
    }
    desk.fake.wallboard["agents"][0]["name"] = XSS  # PJSIP/1001's name, from the live view
    tab = await open_report(desk)
    page = tab.page
    row = report_row(page, XSS)
    await expect(row.locator("td").first).to_have_text(XSS)
    await expect_figures(row, offered="126")
    await expect(report_agent_row(page, "PJSIP/1001").locator("td").first).to_contain_text(XSS)
    hostile = report_agent_row(page, XSS)
    await expect(hostile.locator("td").first).to_have_text(XSS)
    await expect(hostile.locator(tid("report-pause"))).to_have_text([f"{XSS} 1:00"])
    await expect(page.locator(tid("report")).locator("thead")).to_contain_text([XSS])
    assert await page.locator("img").count() == 0
    await page.wait_for_timeout(200)  # an onerror would have fired by now
    # an agent state the server cannot send (the contract says which): the page shows it as text
    assert desk.fake.contract is not None
    problems, desk.fake.contract.problems[:] = list(desk.fake.contract.problems), []
    assert problems and all("state_seconds" in problem for problem in problems), problems
    assert tab.dialogs == []


async def test_language_toggle_switches_the_report_labels(desk: Desk) -> None:
    page = (await open_report(desk)).page
    today = report_today()
    queues_head = page.locator("#report-queues-head")
    await expect(page.locator(tid("tab-report"))).to_have_text("报表")
    await expect(queues_head).to_contain_text("来电")
    await expect(queues_head).to_contain_text("平均应答等待")
    await expect(page.locator("#report-agents-head")).to_contain_text("暂停时长（按原因）")
    pauses = report_agent_row(page, "PJSIP/1003").locator(tid("report-pause"))
    await expect(pauses).to_have_text(["午餐 30:00", "话后工作 10:00", "未注明原因 5:00"])

    await page.click(tid("lang-toggle"))
    await expect(page.locator(tid("tab-report"))).to_have_text("Reports")
    await expect(page.locator(tid("tab-live"))).to_have_text("Live")
    await expect(page.locator(tid("report-load"))).to_have_text("Show")
    await expect(page.locator(tid("report-heading"))).to_have_text(
        f"Daily report for {today} ({REPORT_TIMEZONE})"
    )
    offered = queues_head.locator("th").nth(1)
    await expect(offered).to_have_text("Offered")
    await expect(offered).to_have_attribute(
        "title", "Calls that joined the queue that day (each join counts once)"
    )
    await expect(queues_head).to_contain_text("Service level")
    await expect(queues_head).to_contain_text("Avg. answer wait")
    agents_head = page.locator("#report-agents-head")
    await expect(agents_head).to_contain_text("Paused")
    await expect(agents_head).to_contain_text("Pause time by reason")
    await expect(pauses).to_have_text(
        ["Lunch 30:00", "After-call work 10:00", "no reason given 5:00"]
    )
    await expect_figures(report_row(page, "售后"), offered="126")  # data unchanged

    await choose_day(page, "2026-11-24")
    await expect(page.locator(tid("report-no-calls"))).to_have_text("No calls on 2026-11-24.")
    await expect(page.locator("#report-agents")).to_have_text("No agent activity that day")
    desk.fake.report_failure = (500, "database unavailable")
    await page.click(tid("report-load"))
    error = page.locator(tid("report-error"))
    await expect(error).to_have_text("Cannot load the report: database unavailable")
    await page.click(tid("lang-toggle"))
    await expect(error).to_have_text("无法加载报表：database unavailable")
    await expect(page.locator(tid("tab-report"))).to_have_text("报表")


async def test_the_fakes_daily_report_has_the_shape_of_the_real_one() -> None:
    """The fake's JSON is what WallboardService.daily_report answers, key for key."""
    day = dt.date(2026, 11, 25)
    start = dt.datetime(2026, 11, 25, 10, tzinfo=ZoneInfo(REPORT_TIMEZONE)).timestamp()
    records = [
        CallOffered(start, "售后", "c1", "c1"),
        CallAnswered(start + 12, "售后", "c1", "c1", start, 12.0, "PJSIP/1001", "王小明"),
        StateInterval("PJSIP/1001", AgentState.ON_CALL, start + 12, start + 300),
        PauseInterval("PJSIP/1003", "lunch", start + 400, start + 2200),
    ]

    class History:
        async def between(self, begin: float, end: float) -> list[Any]:
            return [r for r in records if begin <= r.at < end]

    service = WallboardService(
        board=AgentBoard(),
        stats=StatsLog(),
        calls=CallTracker(),
        queues=["售后", "投诉", "English"],
        history=History(),  # type: ignore[arg-type]
        timezone=REPORT_TIMEZONE,
        clock=lambda: start + 86400 * 2,
    )
    real = await service.daily_report(day)

    def shape(report: dict[str, Any]) -> tuple[Any, ...]:
        agents = list(report["agents"].values())
        return (
            sorted(report),
            [sorted(queue) for queue in report["queues"]],
            sorted({key for agent in agents for key in agent}),
        )

    for fake in (other_daily_report(), sample_daily_report(report_today())):
        assert shape(fake) == shape(real)
        states = {state for agent in fake["agents"].values() for state in agent["state_seconds"]}
        assert states <= {state.value for state in AgentState}
    assert shape(empty_daily_report("2026-11-24"))[:2] == shape(real)[:2]
    assert real["timezone"] == REPORT_TIMEZONE
    (queue,) = [q for q in real["queues"] if q["name"] == "售后"]
    assert queue == report_queue(
        "售后",
        offered=1,
        answered=1,
        answered_within_sl=1,
        service_level=1.0,
        average_answer_seconds=12.0,
        longest_answer_wait=12.0,
    )
    assert real["agents"]["PJSIP/1003"] == report_agent(0, {}, {"lunch": 1800.0})
