"""Issue 9 acceptance: ``ctiserver lab`` at 23:00 Asia/Shanghai, ``simulate call --dtmf 1,0``
reaches an agent and the pop appears on that agent's desk (real Asterisk, Chromium);
the lab's prompts are all made before the first call; publishing in the lab leaves
the repository's flows alone; a long caller name keeps the caller's number."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ctiserver.agents.model import AgentState
from ctiserver.cli import _simulate_call
from ctiserver.ivr.prompt_texts import flow_texts
from ctiserver.ivr.prompts import PromptLibrary
from ctiserver.lab.caller import set_global
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import CALLER_ID_BYTES
from tests.conftest import REPO
from tests.integration.browser import logged_in_page
from tests.integration.conftest import LabFactory, WebClient, eventually, lab_settings
from tests.integration.ivr_driver import CLOSED_HOURS

pytestmark = pytest.mark.integration

FLOWS = REPO / "ivr_flows"
ORDINARY = "13912345678"  # 李娜 in the demo data
PASSWORD = "lab"


def repository_flows_status() -> str:
    done = subprocess.run(  # noqa: S603 (a fixed command)
        ["git", "status", "--porcelain", "--", str(FLOWS)], cwd=REPO, capture_output=True,  # noqa: S607
        text=True, check=True,
    )
    return done.stdout


@pytest.fixture
async def lab_at_night(make_lab: LabFactory, tmp_path: Path) -> Lab:
    """``ctiserver lab`` on the repository's flows (its default hours), clock at 23:00
    Shanghai, when the sample hotline's hours say closed; agents start logged out."""
    settings = lab_settings(
        tmp_path, ivr={"flows_dir": str(FLOWS)}, lab={"login_agents": False, "agent_answer_delay": 1.0}
    )
    lab = await make_lab(settings)
    assert lab.server is not None
    lab.server.ivr.engine.clock = lambda: CLOSED_HOURS
    return lab


def library(lab: Lab) -> PromptLibrary:
    assert lab.server is not None
    prompts = lab.server.ivr.engine.prompts
    assert isinstance(prompts, PromptLibrary)
    return prompts


async def simulate(lab: Lab, capsys: pytest.CaptureFixture[str], **args: Any) -> tuple[str, str]:
    """``ctiserver simulate call`` (the very function the command runs); (call id, stderr)."""
    options = {"name": "", "dtmf": "", "wait": 30.0, "hangup_after": None, **args}
    capsys.readouterr()
    assert await _simulate_call(lab.settings, argparse.Namespace(**options)) == 0
    out, err = capsys.readouterr()
    found = re.search(r"call placed: id (\S+)", out)
    assert found, out
    return found.group(1), err


async def test_at_23h_simulate_dtmf_1_0_reaches_an_agent_whose_desk_pops(
    lab_at_night: Lab, browser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = lab_at_night
    assert lab.server is not None
    assert lab.settings.ivr.hours == "open"

    # every text prompt of the hotline was made before any call
    prompts = library(lab)
    flow = lab.server.flows.get("hotline")
    assert flow is not None
    texts = flow_texts(flow)
    assert len(texts) >= 30
    missing = [t for t in texts if not prompts.host_path(t[1], t[0]).is_file()]
    assert missing == []
    assert prompts.synthesised_during_calls == []

    await set_global(lab, "LAB_ANSWER_DELAY", "3")
    page = await logged_in_page(browser, f"http://127.0.0.1:{lab.server.web_port}", "agent1001", PASSWORD,
                                "/ui/agent.html")
    await page.get_by_test_id("login-button").click()

    async def ready() -> bool:
        agent = lab.server.board.get("Local/1001@lab-agents/n")  # type: ignore[union-attr]
        return agent is not None and agent.state is AgentState.READY

    await eventually(ready, 15, "agent 1001 to be ready in its queues")

    call_id, _ = await simulate(lab, capsys, caller=ORDINARY, name="李娜", dtmf="1,0")  # 中文, an agent

    pop = page.get_by_test_id("pop")
    await pop.wait_for(state="visible", timeout=20_000)
    assert await page.get_by_test_id("pop-caller-number").inner_text() == ORDINARY
    assert "李娜" in await page.get_by_test_id("pop-customer-name").first.inner_text()
    ivr_path = await page.get_by_test_id("ivr-path").inner_text()
    assert "agent_queue" in ivr_path
    await page.locator("[data-testid=pop-status][data-status=answered]").wait_for(timeout=15_000)

    live = lab.server.ivr.live[call_id]
    assert live.run is not None
    hours = next(step for step in live.run.path if step.node == "check_hours")
    assert hours.result == "open"
    assert hours.events[0].detail.startswith("Wed 2026-11-25 23:00 Asia/Shanghai")
    assert [step.node for step in live.run.path] == [
        "choose_language", "check_hours", "identify", "greet_customer", "main_menu", "agent_queue"
    ]
    # the call's path synthesised nothing but the greeting that holds the caller's name
    assert prompts.synthesised_during_calls == [("zh", "李娜您好，欢迎致电售后服务热线。")]


async def test_publishing_in_the_lab_changes_its_copy_never_the_repository(lab_at_night: Lab) -> None:
    lab = lab_at_night
    assert lab.server is not None
    before = (FLOWS / "hotline.yaml").read_bytes()
    status = repository_flows_status()
    copy = Path(lab.settings.ivr.flows_dir) / "hotline.yaml"
    assert copy.resolve() != (FLOWS / "hotline.yaml").resolve()
    assert copy.read_bytes() == before

    edited = before.decode("utf-8").replace("您好，欢迎致电售后服务热线。", "您好，欢迎致电实验室热线。")
    web = WebClient(lab)
    try:
        response = await web.login("admin", PASSWORD)
        assert response.status == 200
        async with web.session.post(f"{web.base}/api/flows/publish", json={"source": edited}) as published:
            assert published.status == 200, await published.text()
    finally:
        await web.close()

    assert copy.read_text(encoding="utf-8") == edited
    assert (FLOWS / "hotline.yaml").read_bytes() == before
    assert repository_flows_status() == status
    # its new prompt was made as it was published
    assert library(lab).host_path("您好，欢迎致电实验室热线。", "zh").is_file()


async def test_a_long_caller_name_keeps_the_number(
    lab_at_night: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = lab_at_night
    assert lab.server is not None
    long_name = "欧阳" * 100  # 600 bytes of UTF-8
    call_id, err = await simulate(lab, capsys, caller=ORDINARY, name=long_name, hangup_after=3)
    assert "too long for Asterisk's caller ID" in err

    async def tracked() -> Any:
        call = lab.server.calls.get(call_id)  # type: ignore[union-attr]
        return call if call is not None and call.caller_number else None

    call = await eventually(tracked, 15, f"call {call_id} with its caller ID")
    assert call.caller_number == ORDINARY
    assert call.caller_name and long_name.startswith(call.caller_name)
    assert len(f'"{call.caller_name}" <{ORDINARY}>'.encode()) > CALLER_ID_BYTES - 3
