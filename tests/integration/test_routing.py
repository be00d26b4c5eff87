"""Issue 4 routing with real calls: overflow after a wait, and nobody to answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctiserver.callbacks.store import CallbackRepository
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.lab.caller import IvrCaller, eventually
from ctiserver.lab.runner import Lab
from ctiserver.users.store import UserRepository
from tests.integration.conftest import LabFactory, lab_settings

pytestmark = pytest.mark.integration

OVERFLOWING = "13700000001"
ORDINARY = "13912345678"  # 李娜

ROUTING_FLOW = f"""\
flow: routing
entry: "4008001234"
language: zh
start: pick
nodes:
  pick:
    kind: branch
    cases:
      - {{when: {{var: caller_number, equals: "{OVERFLOWING}"}}, goto: complaints}}
    else: staffed
  complaints: {{kind: queue, queue: complaint, overflow_queue: support, overflow_after: 3}}
  staffed: {{kind: queue, queue: support, no_agents: offer}}
  offer: {{kind: callback, number: caller_id, next: bye}}
  bye: {{kind: hangup}}
"""


@pytest.fixture
async def routing(make_lab: LabFactory, tmp_path: Path) -> Lab:
    return await make_lab(lab_settings(tmp_path, flow=ROUTING_FLOW, lab={"login_agents": False}))


async def log_in(lab: Lab, username: str, queues: list[str]) -> None:
    assert lab.server is not None
    user = await UserRepository(lab.server.db).authenticate(username, "lab")
    assert user is not None
    await lab.server.desk.login(user.id, queues)


async def test_an_unanswered_caller_overflows_to_another_queue(routing: Lab) -> None:
    assert routing.server is not None
    await log_in(routing, "agent1002", ["support"])  # 李红; nobody serves complaint
    caller = await IvrCaller.dial(routing, OVERFLOWING)

    async def answered() -> bool:
        call = routing.server.calls.get(caller.call_id)
        return call is not None and call.answered_at is not None

    await eventually(answered, 20, "the caller to overflow to support and be answered")
    call = routing.server.calls.get(caller.call_id)
    assert call.queue == "support"
    assert call.agent == "李红"
    assert call.answered_at - call.queue_joined_at < 10
    assert call.answered_at - call.started_at >= 3, "first it waited in complaint for 3 s"


async def test_with_nobody_to_answer_the_caller_is_offered_a_callback(routing: Lab) -> None:
    assert routing.server is not None
    caller = await IvrCaller.dial(routing, ORDINARY, "李娜")
    runs = IvrRunRepository(routing.server.db)

    async def recorded() -> list | None:
        return await runs.list_for_call(caller.call_id) or None

    (run,) = await eventually(recorded, 15, "the IVR run to be recorded")
    assert [step["node"] for step in run.path] == ["pick", "staffed", "offer", "bye"]
    assert run.path[1]["result"] == "no agents"
    (callback,) = await CallbackRepository(routing.server.db).pending(10)
    assert (callback.number, callback.call_linkedid) == (ORDINARY, caller.call_id)
    assert callback.customer_id is not None

    async def gone() -> bool:
        return routing.server.calls.get(caller.call_id) is None

    await eventually(gone, 15, "the IVR to hang up after recording the callback")
