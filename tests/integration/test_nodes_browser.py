"""An agent's page whose node dies gets its call's pop back from another (issue 19 part 4):
real Asterisk, real PostgreSQL, two ``ctiserver`` nodes, headless Chromium, the page served
through a reverse proxy in front of both nodes (tests/support/proxy.py: the first node that
accepts a connection, as nginx's ``upstream`` with ``proxy_next_upstream``).

A real queue call is answered by agent 1001, whose desk page is connected (through the
proxy) to node two. Node two is killed (``kill -9``): the page's websocket drops, the page
reconnects through the proxy, which now reaches node one, and node one's greeting sends the
pop of the call the agent is on, which the page shows, answered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.users.store import UserRepository
from tests.integration.conftest import eventually, lab_settings
from tests.integration.shared_lab import module_lab
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.proxy import ReverseProxy

pytestmark = pytest.mark.integration

VIP = "13800138000"  # 张伟


@pytest.fixture
async def two_nodes(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Lab]:  # noqa: F811
    url = await postgres_server.create_database("browser_two_nodes_lab")
    settings = lab_settings(
        tmp_path, database={"url": url}, nodes={"lease_interval": 1.0, "heartbeat": 1.0},
        lab={"agent_answer_delay": 1.0, "login_agents": False},
    )
    async with module_lab(settings, nodes=2) as lab:
        yield lab


async def test_the_page_of_a_dead_node_gets_its_calls_pop_back_from_the_other(two_nodes: Lab, browser: Any) -> None:
    lab = two_nodes
    assert lab.server is not None
    one, two = lab.server, lab.other_nodes[0]
    base_one = f"http://127.0.0.1:{one.web_port}"
    proxy = ReverseProxy([two.web_url, base_one])  # node two first: the page starts there
    await proxy.start()
    context = None
    try:
        user = await UserRepository(one.db).authenticate("agent1001", lab.settings.lab.demo_password)
        assert user is not None
        await one.desk.login(user.id)  # agent 1001 alone in the queue
        call = await place_call(lab, LabCall(VIP))

        async def answered() -> bool:
            found = one.calls.get(call)
            return found is not None and found.answered_at is not None

        await eventually(answered, 40, "agent 1001 to answer the call")
        sockets: list[list[dict[str, Any]]] = []

        def on_socket(ws: Any) -> None:
            received: list[dict[str, Any]] = []
            sockets.append(received)
            ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

        context = await browser.new_context(base_url=proxy.url, locale="zh-CN")
        login = await context.request.post("/login", data={
            "username": "agent1001", "password": lab.settings.lab.demo_password})
        assert login.ok, await login.text()
        page = await context.new_page()
        page.on("websocket", on_socket)
        await page.goto("/ui/agent.html")
        pop = page.locator(f'[data-testid=pop][data-call-id="{call}"]')
        await pop.wait_for(state="visible", timeout=15_000)
        await page.locator("[data-testid=pop-status][data-status=answered]").wait_for(timeout=10_000)
        assert proxy.served == [two.web_url], proxy.served

        opened_before_kill = len(sockets)
        await two.kill()
        await page.locator("#conn[data-state=offline], #conn[data-state=connecting]").first.wait_for(
            timeout=15_000)
        await page.locator("#conn[data-state=online]").wait_for(timeout=30_000)
        assert proxy.served[-1] == base_one, proxy.served

        async def pop_again() -> list[dict[str, Any]] | None:
            # the socket (of those opened after the kill: an attempt may have failed first) that
            # node one greeted and sent the call's pop to
            return next((received for received in sockets[opened_before_kill:] if any(
                m.get("type") == "pop" and m.get("pop", {}).get("call_id") == call for m in received)), None)

        again = await eventually(pop_again, 30, "node one to send the call's pop on the new socket")
        # the greeting names the agent's call: the page keeps its pop (agent.js's
        # checkPopAfterReconnect marks a pop ended only when the server no longer knows it)
        hello = next(m for m in again if m.get("type") == "hello")
        assert hello["agent"]["call_id"] == call, hello
        assert await pop.is_visible()
        assert await page.get_by_test_id("pop-status").get_attribute("data-status") == "answered"
        assert await page.get_by_test_id("pop-caller-number").inner_text() == VIP
        assert "张伟" in await page.get_by_test_id("pop-customer-name").first.inner_text()
    finally:
        if context is not None:
            await context.close()
        await proxy.stop()
