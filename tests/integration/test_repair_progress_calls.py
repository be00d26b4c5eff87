"""Issue 23 part 1 acceptance, against real Asterisk with the sample hotline: a customer with an
open repair ticket scheduled for tomorrow calls and presses 5 (repair progress).

First call: the IVR says the ticket's kind, product, status and appointment window (the IVR
run's record of what was said, and its DTMF path); the caller presses 2 (another time): the
request is in the ticket's history (by the IVR, with the call) and the branch's engineer gets
it at once: on their websocket (``/ws?watch=tickets``) and on their work view page in Chromium
(the ticket's row says the customer asks for another time). Second call: the caller
presses 0 (an agent): the agent's phone rings and their pop names that ticket, among the
customer's open tickets. One lab for both calls."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ctiserver.customers import Product
from ctiserver.customers.store import CustomerRepository
from ctiserver.ivr.spoken import zh_number
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.lab.caller import IvrCaller, set_global
from ctiserver.lab.runner import Lab
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from tests.conftest import REPO
from tests.integration.browser import logged_in_page
from tests.integration.conftest import LabFactory, WebClient, eventually, lab_settings
from tests.support.callbacks_lab import login

pytestmark = pytest.mark.integration

HOTLINE = (REPO / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8")
CUSTOMER = "13912345678"  # 李娜, Shanghai: repairs go to 上海分公司, engineer-sh
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Watching:
    """A logged-in user's websocket and what it received."""

    def __init__(self, client: WebClient, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.client, self.ws = client, ws
        self.messages: list[dict[str, Any]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, lab: Lab, username: str, query: str = "") -> Watching:
        client = WebClient(lab)
        response = await client.login(username, lab.settings.lab.demo_password)
        assert response.status == 200, await response.text()
        ws = await client.session.ws_connect(client.base.replace("http", "ws") + "/ws" + query)
        return cls(client, ws)

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(message.json())

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await self.client.close()


async def _scheduled_ticket(lab: Lab) -> tuple[Any, dt.datetime]:
    """李娜's washing machine: a repair ticket, dispatched by the rules, scheduled tomorrow 9-11."""
    assert lab.server is not None
    (customer,) = await CustomerRepository(lab.server.db).find_by_phone(CUSTOMER)
    tickets: TicketRepository = lab.server.tickets
    async with lab.server.db.session() as session:
        washer = await session.scalar(select(Product.id).where(Product.customer_id == customer.id))
    ticket = await tickets.open("repair", "洗衣机不脱水", {"fault_symptom": "不脱水"}, customer_id=customer.id,
                                product_id=washer, source="agent", actor="agent1001")
    engineer = await UserRepository(lab.server.db).find("engineer-sh")
    assert engineer is not None and ticket.status == "dispatched" and ticket.branch_id == engineer.branch_id
    tomorrow = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=1)).date()
    start = dt.datetime.combine(tomorrow, dt.time(9, 0), SHANGHAI)
    ticket = await tickets.schedule(ticket.id, start, start + dt.timedelta(hours=2), engineer.id)
    return ticket, start


async def _hears_the_ticket(caller: IvrCaller) -> None:
    """The ticket is read out in full (real time, not interruptible) before the choices: wait
    for the question after it longer than ``press`` does."""
    live = await caller.live()
    asked = live.inputs_requested

    async def choices() -> bool:
        return live.awaiting_input and live.inputs_requested > asked

    await eventually(choices, 60, f"the choices after the ticket of call {caller.call_id}")


async def _run_of(lab: Lab, call_id: str) -> Any:
    assert lab.server is not None
    runs = IvrRunRepository(lab.server.db)

    async def saved() -> Any:
        found = await runs.list_for_call(call_id)
        return found[0] if found else None

    return await eventually(saved, 20, f"the IVR run of {call_id}")


async def test_a_customer_hears_their_repair_progress_asks_another_time_then_reaches_an_agent(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> None:
    lab = await make_lab(lab_settings(tmp_path, flow=HOTLINE, lab={"login_agents": False}))
    assert lab.server is not None
    ticket, start = await _scheduled_ticket(lab)
    engineer = await Watching.open(lab, "engineer-sh", "?watch=tickets")
    # the branch engineer's work view, in Chromium
    page = await logged_in_page(browser, f"http://127.0.0.1:{lab.server.web_port}", "engineer-sh",
                                lab.settings.lab.demo_password, "/ui/department.html")
    row = page.locator(f'[data-testid="ticket-row"][data-number="{ticket.number}"]')
    await expect(row).to_be_visible(timeout=15_000)
    try:
        # ---- first call: the progress, then 2: another time
        caller = await IvrCaller.dial(lab, CUSTOMER, "李娜")
        await caller.press("1")  # 中文
        await caller.press("5")  # repair progress
        await _hears_the_ticket(caller)
        await caller.press("2")  # another time
        run = await _run_of(lab, caller.call_id)
        step = next(s for s in run.path if s["node"] == "repair_progress")
        said = [e["detail"] for e in step["events"] if e["kind"] == "say"]
        sentence = next(s for s in said if "维修工单" in s)
        window = f"明天，{_zh_month_day(start)}，星期{'一二三四五六日'[start.weekday()]}，上午九点到上午十一点"
        assert "状态：已预约" in sentence and f"预约上门时间：{window}" in sentence, sentence
        assert "产品：洗衣机 XQG100-BD14376LU1" in sentence, sentence
        assert step["result"] == "time_requested"
        assert [s["node"] for s in run.path][-2:] == ["repair_progress", "goodbye"]
        assert [(s["node"], s["digits"]) for s in run.path if s["digits"] and s["kind"] != "lookup"] == [
            ("choose_language", "1"), ("main_menu", "5"), ("repair_progress", "2")]

        async def requested() -> Any:
            events = await lab.server.tickets.events(ticket.id)  # type: ignore[union-attr]
            return next((e for e in events if e.kind == "time_requested"), None)

        event = await eventually(requested, 10, "the request in the ticket's history")
        assert event.actor == "ivr" and event.payload["call_linkedid"] == caller.call_id
        assert event.note == CUSTOMER

        async def on_work_view() -> Any:
            return next((m for m in engineer.messages if m.get("type") == "ticket"
                         and m["event"]["kind"] == "time_requested"), None)

        pushed = await eventually(on_work_view, 10, "the request on the engineer's work view")
        assert pushed["ticket"]["number"] == ticket.number
        await expect(row.get_by_test_id("row-time-requested")).to_have_text("客户要求改约", timeout=10_000)

        # ---- second call: 0, an agent, whose pop opens on the ticket
        agent = await Watching.open(lab, "agent1001")
        try:
            await set_global(lab, "LAB_ANSWER_DELAY", "60")
            await login(lab, "1001")
            again = await IvrCaller.dial(lab, CUSTOMER, "李娜")
            await again.press("1")
            await again.press("5")
            await _hears_the_ticket(again)
            await again.press("0")  # an agent

            async def popped() -> Any:
                return next((m["pop"] for m in agent.messages if m.get("type") == "pop"
                             and m["event"] == "ringing" and m["pop"]["call_id"] == again.call_id), None)

            pop = await eventually(popped, 30, "the pop on agent 1001's desk")
            assert pop["ivr"]["ticket"] == ticket.number
            assert pop["ivr"]["variables"]["ticket_number"] == ticket.number
            assert ticket.number in [t["number"] for card in pop["customers"] for t in card["open_tickets"]]
            await again.hang_up()
        finally:
            await agent.close()
    finally:
        await engineer.close()
        await page.context.close()


def _zh_month_day(moment: dt.datetime) -> str:
    return f"{zh_number(moment.month)}月{zh_number(moment.day)}日"
