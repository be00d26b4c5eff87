"""Issue 22 acceptance: the desk follows a real call (real Asterisk, the real server, the desk
in headless Chromium, never reloaded). The IVR opens a ticket on the call and queues it; the
agent's badge goes ringing -> on call -> wrap-up -> ready from the server's pushes alone; the
pop lists the IVR's ticket; a supervisor's pause shows at once, saying who; after 签出 the
签入队列 button works again. Every websocket message the page receives is held to the
declarations the pages' fake server is held to (tests/api_contract.py).

One lab for the module's one test. Screenshot: /tmp/desk-follows.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ctiserver.lab.caller import place_call, set_global
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.tickets.tables import Ticket
from tests.api_contract import ContractCheck
from tests.integration.browser import logged_in_page
from tests.integration.conftest import LabFactory, eventually, lab_settings

pytestmark = pytest.mark.integration

PASSWORD = "lab"
VIP = "13800138000"  # 张伟 of the demo data
SHOT = Path("/tmp/desk-follows.png")
TIMEOUT = 15_000
#: the caller is looked up, the IVR opens a repair ticket on the call, then the support queue
FLOW = """\
flow: desk_follows
entry: "4008001234"
language: zh
start: who
nodes:
  who: {kind: lookup, by: caller_id, found: ticket, vip: ticket, not_found: ticket}
  ticket: {kind: ticket, type: repair, summary: "报修（来电 ${caller_number}）", next: support}
  support: {kind: queue, queue: support, priority: 0, vip_priority: 10}
"""


@pytest.fixture
async def desk(make_lab: LabFactory, tmp_path: Path) -> Lab:
    return await make_lab(lab_settings(tmp_path, flow=FLOW, lab={"agent_answer_delay": 1.0, "login_agents": False}))


async def test_the_badge_and_the_pop_follow_a_real_call_without_a_reload(desk: Lab, browser: Any) -> None:
    assert desk.server is not None
    base = f"http://127.0.0.1:{desk.server.web_port}"
    contract = ContractCheck.of_server()
    received: list[dict[str, Any]] = []
    page = await logged_in_page(browser, base, "agent1001", PASSWORD, "about:blank")

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", on_socket)
    await page.goto(f"{base}/ui/agent.html")
    state = page.get_by_test_id("state")
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online", timeout=TIMEOUT)
    await page.get_by_test_id("login-button").click()
    await expect(state).to_have_attribute("data-state", "ready", timeout=TIMEOUT)

    # the lab's phone lets it ring a while, so that the ringing shows
    await set_global(desk, "LAB_ANSWER_DELAY", "3")
    call_id = await place_call(desk, LabCall(VIP, "张伟"))
    await expect(state).to_have_attribute("data-state", "ringing", timeout=TIMEOUT)
    await expect(state).to_have_text("振铃中")
    await expect(state).to_have_attribute("data-state", "on_call", timeout=TIMEOUT)
    await expect(state).to_have_text("通话中")

    async def ivr_ticket() -> str | None:
        async with desk.server.db.session() as session:  # type: ignore[union-attr]
            return await session.scalar(select(Ticket.number).where(Ticket.call_linkedid == call_id))

    number = await eventually(ivr_ticket, 10, "the IVR's ticket of the call")
    opened = page.get_by_test_id("pop-call-tickets")
    await expect(opened).to_contain_text(number, timeout=TIMEOUT)
    await expect(page.get_by_test_id("open-tickets")).to_contain_text(number)  # 张伟's card counts it
    await page.screenshot(path=str(SHOT), full_page=True)

    await page.get_by_test_id("pop-hangup").click()  # the agent ends the call (AMI Hangup)
    await expect(state).to_have_attribute("data-state", "wrap_up", timeout=TIMEOUT)
    await expect(page.get_by_test_id("pop-status")).to_have_attribute("data-status", "ended", timeout=TIMEOUT)
    await expect(state).to_have_attribute("data-state", "ready", timeout=TIMEOUT)  # the queue's wrap-up is over

    # a supervisor pauses the agent from their page's API: the desk shows it at once, saying who
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as supervisor:
        async with supervisor.post(f"{base}/login", json={"username": "supervisor", "password": PASSWORD}) as login:
            assert login.status == 200
            who = (await login.json())["user"]
        async with supervisor.post(f"{base}/api/agents/1001/pause", json={"reason": "meeting"}) as paused:
            assert paused.status == 200, await paused.text()
    await expect(state).to_have_attribute("data-state", "paused", timeout=5_000)
    await expect(state).to_contain_text(who["display_name"] or who["username"])
    await expect(state).to_contain_text("会议")

    await page.get_by_test_id("logout-button").click()
    await expect(state).to_have_attribute("data-state", "logged_out", timeout=TIMEOUT)
    await expect(page.get_by_test_id("login-button")).to_be_enabled()

    kinds = [message.get("type") for message in received]
    assert "agent" in kinds and "pop" in kinds, kinds
    problems = [f"{m.get('type')}: {contract.message_problem(m)}" for m in received if contract.message_problem(m)]
    assert problems == [], "the real server's pushes break the declarations the fake server is held to"
