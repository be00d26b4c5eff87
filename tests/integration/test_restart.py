"""A server restart beside a running Asterisk: agents and calls come back from Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver.agents.model import AgentState
from ctiserver.lab.caller import place_call, set_global
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.server import CtiServer
from ctiserver.users.store import UserRepository
from tests.integration.conftest import LabFactory, WebClient, eventually, lab_settings
from tests.support.flows import ACD_FLOW

pytestmark = pytest.mark.integration


@pytest.fixture
async def restartable(make_lab: LabFactory, tmp_path: Path) -> Lab:
    return await make_lab(lab_settings(tmp_path, flow=ACD_FLOW, lab={"login_agents": False}))


async def test_agents_and_waiting_callers_survive_a_server_restart(restartable: Lab) -> None:
    lab = restartable
    assert lab.server is not None
    users = UserRepository(lab.server.db)
    ready = await users.authenticate("agent1002", "lab")
    paused = await users.authenticate("agent1003", "lab")
    assert ready is not None and paused is not None
    await lab.server.desk.login(ready.id, ["installation"])  # 李红 serves installation only
    await lab.server.desk.login(paused.id, ["support", "complaint"])
    await lab.server.desk.pause(paused.id, "training")
    await set_global(lab, "LAB_ANSWER_DELAY", "60")
    call_id = await place_call(lab, LabCall("13912345678", "李娜"))

    async def waiting(server: CtiServer) -> bool:
        call = server.calls.get(call_id)
        return call is not None and call.queue == "support"

    await eventually(lambda: waiting(lab.server), 10, "the caller to wait in support")

    await lab.server.stop()
    lab.server = CtiServer(lab.settings)
    await lab.server.start()
    await lab.server.ami.wait_ready(timeout=20)

    async def resynced() -> bool:
        board = lab.server.board
        one = board.get("Local/1002@lab-agents/n")
        two = board.get("Local/1003@lab-agents/n")
        return (
            one is not None and two is not None
            and one.state is AgentState.READY and one.queues == {"installation"}
            and two.state is AgentState.PAUSED and two.queues == {"support", "complaint"}
        )

    await eventually(resynced, 10, "the agents' queues and pauses to come back from Asterisk")
    assert lab.server.board.get("Local/1003@lab-agents/n").state_reason == "training"
    await eventually(lambda: waiting(lab.server), 10, "the waiting caller to come back from Asterisk")
    call = lab.server.calls.get(call_id)
    assert call.caller_number == "13912345678" and call.answered_at is None


async def test_todays_figures_survive_a_server_restart_and_make_the_daily_report(restartable: Lab) -> None:
    lab = restartable
    assert lab.server is not None
    agent = await UserRepository(lab.server.db).authenticate("agent1001", "lab")
    assert agent is not None
    await lab.server.desk.login(agent.id, ["support"])
    call_id = await place_call(lab, LabCall("13912345678", "李娜", hangup_after=2))

    def support() -> dict:
        return next(q for q in lab.server.wallboard.snapshot()["queues"] if q["name"] == "support")

    async def counted() -> bool:
        return lab.server.calls.get(call_id) is None and support()["answered"] == 1

    await eventually(counted, 20, "the answered call to end and count")
    before = support()

    await lab.server.stop()
    lab.server = CtiServer(lab.settings)
    await lab.server.start()
    await lab.server.ami.wait_ready(timeout=20)
    after = support()
    assert (after["offered"], after["answered"], after["answered_within_sl"]) == (
        before["offered"], before["answered"], before["answered_within_sl"]
    ) == (1, 1, 1)

    web = WebClient(lab)
    try:
        assert (await web.login("supervisor", "lab")).status == 200
        report = await web.get_json("/api/reports/daily")
    finally:
        await web.close()
    (support_day,) = [q for q in report["queues"] if q["name"] == "support"]
    assert (support_day["offered"], support_day["answered"], support_day["service_level"]) == (1, 1, 1.0)
