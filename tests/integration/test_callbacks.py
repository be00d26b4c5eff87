"""Missed-call callbacks against real Asterisk: an abandoned caller becomes one task, a
ready agent is rung first with a callback offer, then the customer's Local channel is
dialled and answers; repeated abandons are one task that a new answered call cancels; a
customer who does not answer is retried on schedule and fails after the maximum; a caller
who finds no agent in the sample hotline and asks for a callback is owed one, saying why."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ctiserver.callbacks.store import CallbackInfo
from ctiserver.lab.caller import IvrCaller, place_call, set_global
from ctiserver.lab.simulate import LabCall
from tests.conftest import REPO
from tests.integration.conftest import LabFactory, eventually, lab_settings
from tests.support.callbacks_lab import (  # noqa: F401  (desk_of: a fixture; the rest: also imported from here before the move)
    CUSTOMER,
    Desk,
    callback_settings,
    desk_of,
)
from tests.support.callbacks_lab import (
    abandon as _abandon,
)
from tests.support.callbacks_lab import (
    customer_legs as _customer_legs,
)
from tests.support.callbacks_lab import (
    login as _login,
)
from tests.support.callbacks_lab import (
    tasks as _tasks,
)


async def test_an_abandoned_caller_is_called_back_agent_first(make_lab: LabFactory, tmp_path: Path,
                                                              desk_of: Any) -> None:
    lab = await make_lab(callback_settings(tmp_path))
    assert lab.server is not None
    desk = await desk_of(lab)
    supervisor = await desk_of(lab, "supervisor")
    call_id = await _abandon(lab, CUSTOMER, 4)

    async def one_task() -> list[CallbackInfo]:
        return await _tasks(lab, CUSTOMER)

    (task,) = await eventually(one_task, 25, "the abandoned call's task")
    assert (task.status, task.source, task.queue, task.call_linkedid) == ("pending", "abandoned", "support", call_id)
    assert task.wait_seconds is not None and task.wait_seconds >= 2
    originated: list[tuple[str, str]] = []
    dialer = lab.server.callbacks.dialer
    assert dialer is not None
    dialer.on_originate = lambda channel_id, interface: originated.append((channel_id, interface))
    await asyncio.sleep(1.5)
    assert originated == [], "nobody is ready: nothing is dialled"

    await _login(lab, "1001")

    async def offered() -> list[dict[str, Any]]:
        return desk.offers("ringing")

    (offer,) = await eventually(offered, 15, "the callback offer on agent 1001's desk")
    assert offer["callback"]["id"] == task.id and offer["callback"]["number"] == CUSTOMER
    assert offer["callback"]["source"] == "abandoned" and offer["callback"]["wait_seconds"] >= 2
    assert [interface for _, interface in originated] == ["Local/1001@lab-agents/n"]

    async def connected() -> CallbackInfo | None:
        found = await lab.server.callbacks.store.get(task.id)  # type: ignore[union-attr]
        return found if found is not None and found.status == "connected" else None

    done = await eventually(connected, 20, "the callback to connect")
    assert (done.outcome, done.agent, done.attempts) == ("connected", "1001", 0)
    (leg,) = _customer_legs(lab, CUSTOMER)
    assert leg[1].startswith("Local/1001@lab-agents"), "the agent's leg was first, then the customer's"
    assert leg[2] == lab.settings.hotline.number, "the customer sees the hotline's number"
    (attempt,) = await lab.server.callbacks.store.attempts(task.id)
    assert attempt.channel_id == originated[0][0] and attempt.outcome == "connected"

    async def offer_events() -> list[str] | None:  # the push may follow the stored outcome by a moment
        events = [m["event"] for m in desk.messages if m.get("type") == "callback_offer"]
        return events if len(events) >= 2 else None

    assert await eventually(offer_events, 10, "the answered offer on the desk") == ["ringing", "answered"]
    pushed = [m["callback"]["status"] for m in supervisor.messages if m.get("type") == "callback"]
    assert pushed == ["pending", "dialing", "connected"], "supervisors see every change live"


async def test_three_abandons_are_one_task_that_an_answered_call_cancels(make_lab: LabFactory,
                                                                         tmp_path: Path) -> None:
    lab = await make_lab(callback_settings(tmp_path, dial=False))
    assert lab.server is not None
    # a second apart, so that the first call placed is surely the first missed
    calls = [await _abandon(lab, "+8613800138000" if n == 1 else CUSTOMER, 3 + n) for n in range(3)]

    async def three_misses() -> CallbackInfo | None:
        tasks = await _tasks(lab, CUSTOMER)
        return tasks[0] if len(tasks) == 1 and tasks[0].misses == 3 else None

    task = await eventually(three_misses, 30, "one task of three misses")
    assert (task.status, task.call_linkedid) == ("pending", calls[0])
    await _login(lab, "1001")
    await place_call(lab, LabCall(CUSTOMER, dtmf_delay=0.1))  # the agent answers it

    async def cancelled() -> CallbackInfo | None:
        found = await lab.server.callbacks.store.get(task.id)  # type: ignore[union-attr]
        return found if found is not None and found.status == "cancelled" else None

    await eventually(cancelled, 15, "the answered call to cancel the task")
    assert len(await _tasks(lab, CUSTOMER)) == 1


async def test_a_customer_who_does_not_answer_is_retried_then_failed(make_lab: LabFactory, tmp_path: Path,
                                                                    desk_of: Any) -> None:
    settings = callback_settings(tmp_path, max_attempts=2, retry_min=3, retry_max=3)
    lab = await make_lab(settings.replace(hotline={"callback_ring": 3}))
    assert lab.server is not None
    desk = await desk_of(lab)
    await set_global(lab, f"LAB_CUSTOMER_NOANSWER_{CUSTOMER}", "1")
    await _abandon(lab, CUSTOMER, 3)
    (task,) = await eventually(lambda: _tasks(lab, CUSTOMER), 25, "the abandoned call's task")
    await _login(lab, "1001")

    async def failed() -> CallbackInfo | None:
        found = await lab.server.callbacks.store.get(task.id)  # type: ignore[union-attr]
        return found if found is not None and found.status == "failed" else None

    done = await eventually(failed, 40, "the task to fail after two attempts")
    assert (done.attempts, done.outcome) == (2, "no_answer")
    first, second = await lab.server.callbacks.store.attempts(task.id)
    assert (first.outcome, second.outcome) == ("no_answer", "no_answer")
    assert first.ended_at is not None
    assert (second.started_at - first.ended_at).total_seconds() >= 3 - 0.1, "retried after the back-off"
    assert [m["event"] for m in desk.messages if m.get("type") == "callback_offer"] == [
        "ringing", "ended", "ringing", "ended"]


async def test_a_caller_who_finds_no_agent_and_asks_for_a_callback_is_owed_one(make_lab: LabFactory,
                                                                               tmp_path: Path) -> None:
    """The sample hotline: 中文, then an agent; nobody is logged in, so the flow offers a
    callback (nobody_menu) and the caller presses 1: a task says why, with their choices."""
    hotline = (REPO / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8")
    lab = await make_lab(lab_settings(tmp_path, flow=hotline, lab={"login_agents": False}))
    assert lab.server is not None
    caller = await IvrCaller.dial(lab, "13912345678", "李娜")
    await caller.press("1")  # 中文
    await caller.press("0")  # an agent: nobody can answer
    await caller.press("1")  # a callback

    async def owed() -> list[CallbackInfo]:
        return await _tasks(lab, "13912345678")

    (task,) = await eventually(owed, 20, "the callback the caller asked for")
    assert (task.status, task.source, task.queue, task.call_linkedid) == (
        "pending", "no_agent", lab.settings.hotline.default_queue, caller.call_id)
    assert "main_menu:0" in task.choices and "nobody_menu:1" in task.choices
