"""Issue 4 acceptance: queues, agents and the screen pop with real calls and real browsers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import expect

from ctiserver.agents.model import AgentState
from ctiserver.agents.protocols import DeskError
from ctiserver.customers.store import CustomerRepository
from ctiserver.lab.caller import IvrCaller, place_call, set_global
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.stats.model import CallCompleted
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from tests.integration.browser import logged_in_page
from tests.integration.conftest import eventually, lab_settings
from tests.integration.shared_lab import (  # noqa: F401  (module_browser, module_chromium: fixtures)
    module_browser,
    module_chromium,
    module_lab,
    quiet,
    short_wrapup,
)
from tests.support.flows import ACD_FLOW

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

VIP = "13800138000"  # 张伟
ORDINARY = "13912345678"  # 李娜
PASSWORD = "lab"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    """One lab for the module: its agents start logged out of every queue."""
    settings = lab_settings(tmp_path_factory.mktemp("desk"), flow=ACD_FLOW,
                            lab={"agent_answer_delay": 1.0, "login_agents": False})
    async with module_lab(short_wrapup(settings)) as lab:
        yield lab


@pytest_asyncio.fixture(loop_scope="module")
async def desk(shared_desk: Lab) -> Lab:
    """The module's lab with no call up and every agent logged out, as if new."""
    await quiet(shared_desk)
    return shared_desk



async def user_id(lab: Lab, username: str) -> int:
    assert lab.server is not None
    user = await UserRepository(lab.server.db).authenticate(username, PASSWORD)
    assert user is not None
    return user.id


async def agent_state(lab: Lab, extension: str) -> AgentState:
    assert lab.server is not None
    agent = lab.server.board.get(f"Local/{extension}@lab-agents/n")
    return agent.state if agent is not None else AgentState.LOGGED_OUT


def base_url(lab: Lab) -> str:
    assert lab.server is not None
    return f"http://127.0.0.1:{lab.server.web_port}"


async def test_the_ringing_agent_sees_the_customer_and_another_agent_sees_nothing(desk: Lab, browser: Any) -> None:
    await set_global(desk, "LAB_ANSWER_DELAY", "4")
    mine = await logged_in_page(browser, base_url(desk), "agent1001", PASSWORD, "/ui/agent.html")
    other = await logged_in_page(browser, base_url(desk), "agent1002", PASSWORD, "/ui/agent.html")
    await mine.get_by_test_id("login-button").click()

    async def ready() -> bool:
        return await agent_state(desk, "1001") is AgentState.READY

    await eventually(ready, 10, "agent 1001 to be ready in its queues")
    call_id = await place_call(desk, LabCall(VIP, "张伟"))

    pop = mine.get_by_test_id("pop")
    await pop.wait_for(state="visible", timeout=10_000)
    assert await mine.get_by_test_id("pop-caller-number").inner_text() == VIP
    assert "张伟" in await mine.get_by_test_id("pop-customer-name").first.inner_text()
    assert "who" in await mine.get_by_test_id("ivr-path").inner_text()
    assert await mine.get_by_test_id("pop-status").get_attribute("data-status") == "ringing"
    await mine.locator('[data-testid=pop-status][data-status=answered]').wait_for(timeout=10_000)
    assert desk.server.calls.get(call_id).agent == "王小明"  # agent 1001's member name
    assert not await other.get_by_test_id("pop").is_visible(), "another agent's page must show nothing"
    assert await other.get_by_test_id("pop-caller-number").count() == 0 or not await other.get_by_test_id(
        "pop-caller-number"
    ).is_visible()


async def test_a_vip_caller_is_answered_before_an_ordinary_one_who_waited_longer(desk: Lab) -> None:
    assert desk.server is not None
    ordinary = await place_call(desk, LabCall(ORDINARY, "李娜"))

    async def waiting(call_id: str) -> bool:
        call = desk.server.calls.get(call_id)
        return call is not None and call.queue == "support"

    await eventually(lambda: waiting(ordinary), 10, "the ordinary caller to wait in support")
    vip = await place_call(desk, LabCall(VIP, "张伟"))
    await eventually(lambda: waiting(vip), 10, "the VIP caller to wait in support")
    await asyncio.sleep(1.0)

    await desk.server.desk.login(await user_id(desk, "agent1001"), ["support"])

    async def vip_answered() -> bool:
        call = desk.server.calls.get(vip)
        return call is not None and call.answered_at is not None

    await eventually(vip_answered, 15, "the VIP to be answered")
    first = desk.server.calls.get(ordinary)
    assert first is not None and first.answered_at is None, "the ordinary caller must still wait"


async def test_a_paused_agent_is_offered_no_call_until_ready_again(desk: Lab) -> None:
    assert desk.server is not None
    agent = await user_id(desk, "agent1001")
    await desk.server.desk.login(agent, ["support"])
    paused = await desk.server.desk.pause(agent, "lunch")
    assert paused["state"] == "paused" and paused["reason"] == "lunch"

    call_id = await place_call(desk, LabCall(ORDINARY))

    async def queued() -> bool:
        call = desk.server.calls.get(call_id)
        return call is not None and call.queue == "support"

    await eventually(queued, 10, "the caller to wait in support")
    await asyncio.sleep(5)
    assert await agent_state(desk, "1001") is AgentState.PAUSED
    assert desk.server.calls.get(call_id).answered_at is None

    await desk.server.desk.ready(agent)

    async def answered() -> bool:
        call = desk.server.calls.get(call_id)
        return call is not None and call.answered_at is not None

    await eventually(answered, 15, "the call to reach the agent once ready")
    assert desk.server.calls.get(call_id).agent


async def test_a_repair_ticket_opened_from_the_pop_is_linked_to_call_customer_and_product(
    desk: Lab, browser: Any
) -> None:
    await set_global(desk, "LAB_ANSWER_DELAY", "1")
    page = await logged_in_page(browser, base_url(desk), "agent1001", PASSWORD, "/ui/agent.html")
    await page.get_by_test_id("login-button").click()
    await eventually(lambda: _is(desk, "1001", AgentState.READY), 10, "agent 1001 ready")
    call_id = await place_call(desk, LabCall(VIP, "张伟"))
    await page.get_by_test_id("pop").wait_for(state="visible", timeout=10_000)

    form = page.get_by_test_id("ticket-form")
    if not await form.is_visible():
        await page.get_by_test_id("ticket-open").click()
    await form.locator("select[name=type]").select_option("repair")
    product = form.locator("select[name=product_id]")
    product_id = await product.locator("option").nth(1).get_attribute("value")
    await product.select_option(product_id)
    await form.locator("[name=summary]").fill("空调不制冷，需要上门维修")
    await page.get_by_test_id("ticket-submit").click()
    shown = page.get_by_test_id("ticket-number")
    await expect(shown).to_have_text(re.compile(r"R\d{8}-\d{4}"), timeout=10_000)
    number = await shown.inner_text()

    (ticket,) = await TicketRepository(desk.server.db).list_for_call(call_id)
    assert ticket.number in number
    assert (ticket.type, ticket.source) == ("repair", "agent")
    zhang = (await CustomerRepository(desk.server.db).find_by_phone(VIP))[0]
    assert ticket.customer_id == zhang.id
    assert ticket.product_id == int(product_id)


async def test_a_hostile_caller_name_is_shown_as_text(desk: Lab, browser: Any) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    page = await logged_in_page(browser, base_url(desk), "agent1001", PASSWORD, "/ui/agent.html")
    await page.get_by_test_id("login-button").click()
    await eventually(lambda: _is(desk, "1001", AgentState.READY), 10, "agent 1001 ready")
    await place_call(desk, LabCall("13100000009", hostile))
    await page.get_by_test_id("pop").wait_for(state="visible", timeout=10_000)
    assert await page.get_by_test_id("pop-caller-name").inner_text() == hostile
    assert await page.locator("img[src=x]").count() == 0
    await asyncio.sleep(0.5)
    assert page.dialogs == []


async def test_the_supervisor_sees_a_waiting_caller_then_the_answered_call(desk: Lab, browser: Any) -> None:
    page = await logged_in_page(browser, base_url(desk), "supervisor", PASSWORD, "/ui/supervisor.html")
    caller = await IvrCaller.dial(desk, ORDINARY, "李娜")
    waiting = page.locator(f'[data-testid=waiting-call][data-call-id="{caller.call_id}"]')
    await waiting.wait_for(state="visible", timeout=15_000)
    assert "13912345678" in await waiting.inner_text()

    await desk.server.desk.login(await user_id(desk, "agent1002"), ["support"])
    active = page.locator(f'[data-testid=active-call][data-call-id="{caller.call_id}"]')
    await active.wait_for(state="visible", timeout=15_000)
    await waiting.wait_for(state="detached", timeout=15_000)

    async def shows_agent() -> bool:
        text = await active.inner_text()
        return "1002" in text or "李红" in text

    await eventually(shows_agent, 15, "the answered call with its agent on the supervisor page")

    # the Reports tab: today's report (from the stored records) counts the answered call
    await page.get_by_test_id("tab-report").click()
    answered = page.locator("[data-testid=report-queue][data-queue=support] [data-figure=answered]")

    async def reported() -> bool:
        await page.get_by_test_id("report-load").click()
        await page.locator("[data-testid=report][aria-busy=false]").wait_for()
        return await answered.count() == 1 and int(await answered.inner_text()) >= 1

    await eventually(reported, 15, "the report on the page to count the answered call")


async def test_the_pop_follows_a_call_transferred_to_another_agent(desk: Lab, browser: Any) -> None:
    """Agent 1001 answers, then hands the caller over to 1002 from the desktop (BlindTransfer)."""
    await set_global(desk, "LAB_ANSWER_DELAY", "1")
    first = await logged_in_page(browser, base_url(desk), "agent1001", PASSWORD, "/ui/agent.html")
    second = await logged_in_page(browser, base_url(desk), "agent1002", PASSWORD, "/ui/agent.html")
    await first.get_by_test_id("login-button").click()
    await eventually(lambda: _is(desk, "1001", AgentState.READY), 10, "agent 1001 ready")
    call_id = await place_call(desk, LabCall(VIP, "张伟"))
    await first.locator("[data-testid=pop-status][data-status=answered]").wait_for(timeout=15_000)
    assert not await second.get_by_test_id("pop").is_visible()

    await first.get_by_test_id("transfer-extension").fill("1002")
    await first.get_by_test_id("transfer-submit").click()

    await second.locator("[data-testid=pop-status][data-status=answered]").wait_for(timeout=15_000)
    assert await second.get_by_test_id("pop-caller-number").inner_text() == VIP
    assert "张伟" in await second.get_by_test_id("pop-customer-name").first.inner_text()
    assert "1001" in await second.get_by_test_id("pop-transferred-from").inner_text()
    assert await second.get_by_test_id("pop").get_attribute("data-call-id") == call_id
    await first.locator("[data-testid=pop-status][data-status=ended]").wait_for(timeout=15_000)

    board = desk.server.board
    moved = board.get("Local/1002@lab-agents/n")
    assert (moved.state, moved.linkedid, moved.direct) == (AgentState.ON_CALL, call_id, True)
    assert board.get("Local/1001@lab-agents/n").state in (AgentState.WRAP_UP, AgentState.READY), "1001's part is over"
    call = desk.server.calls.get(call_id)
    assert call is not None and call.ended_at is None, "the caller is still on the line, with 1002"


async def test_a_transfer_without_a_call_or_to_nobody_is_refused(desk: Lab) -> None:
    agent = await user_id(desk, "agent1001")
    await desk.server.desk.login(agent, ["support"])
    with pytest.raises(DeskError) as no_call:
        await desk.server.desk.transfer(agent, "1002")
    assert no_call.value.status == 409
    with pytest.raises(DeskError) as nobody:
        await desk.server.desk.transfer(agent, "7777")
    assert nobody.value.status == 404


async def _is(lab: Lab, extension: str, state: AgentState) -> bool:
    return await agent_state(lab, extension) is state


async def test_a_supervisor_pauses_and_readies_an_agent_on_asterisk(desk: Lab) -> None:
    """Over HTTP as the supervisor page would; Asterisk's QueueMember events confirm it."""
    assert desk.server is not None
    await desk.server.desk.login(await user_id(desk, "agent1001"), ["support"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(f"{base_url(desk)}/login", json={"username": "supervisor", "password": PASSWORD})
        assert login.status == 200
        async with http.post(f"{base_url(desk)}/api/agents/1001/pause", json={"reason": "meeting"}) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["agent"]["reason"] == "meeting"
        agent = desk.server.board.get("Local/1001@lab-agents/n")
        assert agent is not None and agent.state is AgentState.PAUSED and agent.state_reason == "meeting"
        async with http.post(f"{base_url(desk)}/api/agents/1001/ready") as response:
            assert response.status == 200
        assert await agent_state(desk, "1001") is AgentState.READY
        async with http.post(f"{base_url(desk)}/api/agents/1001/logout") as response:
            assert response.status == 200
        assert await agent_state(desk, "1001") is AgentState.LOGGED_OUT


async def test_a_caller_who_hangs_up_first_ends_the_agents_call_at_once_and_is_counted(
    desk: Lab, caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller's channel hung up from outside the dialplan (as a trunk's BYE does): Asterisk's
    AgentComplete then lacks the caller's fields. The agent still goes to wrap-up on it (not on
    the board's 5-second safety net, which warns) and the statistics count the talk time."""
    assert desk.server is not None
    server = desk.server
    await set_global(desk, "LAB_ANSWER_DELAY", "1")
    await server.desk.login(await user_id(desk, "agent1001"), ["support"])
    call_id = await place_call(desk, LabCall(ORDINARY, "李娜"))

    async def answered() -> bool:
        call = server.calls.get(call_id)
        return call is not None and call.answered_at is not None

    await eventually(answered, 15, "the call answered by agent 1001")
    await asyncio.sleep(1.2)  # a talk time of a second at least
    await desk.phones.send_action({"Action": "Hangup", "Channel": call_id})

    async def completed() -> CallCompleted | None:
        return next((r for r in server.stats.records() if isinstance(r, CallCompleted) and r.linkedid == call_id),
                    None)

    record = await eventually(completed, 10, "the call's completion in the statistics")
    assert (record.reason, record.interface) == ("caller", "Local/1001@lab-agents/n")
    assert record.talk_seconds >= 1
    agent = server.board.get("Local/1001@lab-agents/n")
    assert agent is not None and agent.state is not AgentState.ON_CALL, agent
    assert "still on call" not in caplog.text
