"""Issue 3 acceptance: real calls with real DTMF walk the sample hotline on real Asterisk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from ctiserver.callbacks.store import CallbackRepository
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.ivr.voicemails import VoicemailRepository
from ctiserver.lab.caller import IvrCaller, set_global
from ctiserver.lab.runner import Lab
from ctiserver.tickets.store import TicketRepository
from tests.conftest import REPO
from tests.integration.conftest import eventually, lab_settings
from tests.integration.shared_lab import module_lab, quiet, short_wrapup
from tests.integration.ivr_driver import CLOSED_HOURS, OPEN_HOURS

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

HOTLINE = (REPO / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8")
VIP = "13800138000"  # 张伟 in the demo data
ORDINARY = "13912345678"  # 李娜
UNKNOWN = "13100000001"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_hotline(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    # these tests set the clock to open or closed hours: the flow's own hours apply
    settings = lab_settings(tmp_path_factory.mktemp("hotline"), flow=HOTLINE, lab={"hours": "flow"})
    async with module_lab(short_wrapup(settings)) as lab:
        yield lab


@pytest_asyncio.fixture(loop_scope="module")
async def hotline(shared_hotline: Lab) -> AsyncIterator[Lab]:
    """The module's lab with no call up, the hotline flow as written in force, open hours."""
    lab = shared_hotline
    assert lab.server is not None
    registry = lab.server.flows
    original = registry.active_version("hotline")
    assert original is not None
    await quiet(lab, log_out=False)
    lab.server.ivr.engine.clock = lambda: OPEN_HOURS
    # callers stay in their queue (agents ring but are slow) unless a test says otherwise
    await set_global(lab, "LAB_ANSWER_DELAY", "60")
    yield lab
    flow_file = Path(lab.settings.ivr.flows_dir) / "flow.yaml"
    if flow_file.read_text(encoding="utf-8") != HOTLINE:  # a test edited the flow: back as written
        flow_file.write_text(HOTLINE, encoding="utf-8")

        async def restored() -> bool:
            active = registry.active_version("hotline")
            return active is not None and active.version == original.version

        await eventually(restored, 15, "the hotline flow back in force as written")


async def recorded_path(lab: Lab, call_id: str) -> list[str]:
    assert lab.server is not None
    runs = IvrRunRepository(lab.server.db)

    async def saved() -> list[str] | None:
        found = await runs.list_for_call(call_id)
        return [step["node"] for run in found for step in run.path] if found else None

    return await eventually(saved, 15, f"the IVR run of {call_id} in the database")


async def test_repair_opens_a_ticket_and_queues_to_the_repair_desk(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, ORDINARY, "李娜")
    await caller.press("1")  # 中文
    await caller.press("1")  # repair
    await caller.press("2")  # washing machine
    entry = await caller.queue_entry("repair")
    assert entry["Priority"] == "0"
    live = await caller.finished_ivr()
    assert live.run is not None and live.run.outcome is not None
    assert live.run.outcome.queue == "repair"
    tickets = await TicketRepository(hotline.server.db).list_for_call(caller.call_id)
    assert [(t.type, t.department) for t in tickets] == [("repair", "repair")]
    assert "洗衣机" in tickets[0].summary
    assert tickets[0].customer_id is not None, "the caller is a known customer"
    await caller.hang_up()
    path = await recorded_path(hotline, caller.call_id)
    assert path == [
        "choose_language", "check_hours", "identify", "greet_customer", "main_menu",
        "repair_product", "repair_product_name", "product_washing_machine", "repair_ticket", "repair_queue",
    ]


async def test_vip_complaint_joins_the_complaint_queue_with_vip_priority(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, VIP, "张伟")
    await caller.press("1")
    await caller.press("2")  # complaint
    entry = await caller.queue_entry("complaint")
    assert entry["Priority"] == "10"
    await caller.hang_up()
    path = await recorded_path(hotline, caller.call_id)
    assert path[2:4] == ["identify", "greet_vip"]
    assert path[-1] == "complaint_queue"


async def test_ordinary_complaint_has_ordinary_priority(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, UNKNOWN)
    await caller.press("1")
    await caller.press("2")
    entry = await caller.queue_entry("complaint")
    assert entry["Priority"] == "0"
    await caller.hang_up()
    assert "greet_new" in await recorded_path(hotline, caller.call_id)


async def test_moving_opens_a_moving_ticket_and_queues_to_installation(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, UNKNOWN)
    await caller.press("1")
    await caller.press("3")  # installation or moving
    await caller.press("2")  # moving
    await caller.queue_entry("installation")
    tickets = await TicketRepository(hotline.server.db).list_for_call(caller.call_id)
    assert [(t.type, t.department, t.customer_id) for t in tickets] == [("moving", "installation", None)]
    await caller.hang_up()
    assert (await recorded_path(hotline, caller.call_id))[-3:] == ["install_menu", "moving_ticket", "installation_queue"]


async def test_self_service_information_then_goodbye(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, ORDINARY)
    await caller.press("1")
    await caller.press("4")  # information
    await caller.press("2")  # hang up
    path = await recorded_path(hotline, caller.call_id)
    assert path[-3:] == ["info", "info_menu", "goodbye"]

    async def ended() -> bool:
        return hotline.server.calls.get(caller.call_id) is None

    await eventually(ended, 15, "the IVR to hang up the call")


async def test_english_caller_reaches_an_agent_then_rates_the_service(hotline: Lab) -> None:
    await set_global(hotline, "LAB_ANSWER_DELAY", "0.5")
    await set_global(hotline, "LAB_TALK_TIME", "2")  # the agent hangs up after 2 s
    caller = await IvrCaller.dial(hotline, ORDINARY)
    await caller.press("2")  # English
    await caller.press("0")  # an agent
    await caller.press("4")  # the survey after the agent hung up
    runs = IvrRunRepository(hotline.server.db)

    async def surveyed() -> list | None:
        found = await runs.list_for_call(caller.call_id)
        return found if len(found) == 2 else None

    first, after = await eventually(surveyed, 30, "the survey to be recorded")
    assert first.variables["language"] == "en"
    assert [s["node"] for s in first.path][-1] == "agent_queue"
    assert [s["node"] for s in after.path] == ["survey", "goodbye"]
    assert after.variables.get("survey_score") == "4"


async def test_outside_hours_a_callback_is_recorded(hotline: Lab) -> None:
    hotline.server.ivr.engine.clock = lambda: CLOSED_HOURS
    caller = await IvrCaller.dial(hotline, VIP)
    await caller.press("1")
    await caller.press("1")  # callback
    path = await recorded_path(hotline, caller.call_id)
    assert path == ["choose_language", "check_hours", "closed_menu", "callback", "goodbye"]
    # (the module's earlier callers, hung up while they waited, are owed callbacks of their own)
    pending = [c for c in await CallbackRepository(hotline.server.db).pending(100) if c.number == VIP]
    assert [(c.number, c.call_linkedid) for c in pending] == [(VIP, caller.call_id)]
    assert pending[0].customer_id is not None


async def test_outside_hours_a_voicemail_is_recorded(hotline: Lab) -> None:
    hotline.server.ivr.engine.clock = lambda: CLOSED_HOURS
    caller = await IvrCaller.dial(hotline, UNKNOWN)
    await caller.press("1")
    await caller.press("2")  # voicemail; the lab caller's phone sends a tone as its voice
    voicemail_dir = Path(hotline.settings.ivr.voicemail_dir)

    async def half_a_second_recorded() -> bool:
        return any(file.stat().st_size > 8000 for file in voicemail_dir.glob("*") if file.is_file())

    await eventually(half_a_second_recorded, 15, "half a second of the caller's message to be recorded")
    await caller.hang_up()
    path = await recorded_path(hotline, caller.call_id)
    assert path[-3:-1] == ["closed_menu", "voicemail"]  # then goodbye, cut short by the hangup
    (voicemail,) = await VoicemailRepository(hotline.server.db).list_for_call(caller.call_id)
    assert voicemail.caller_number == UNKNOWN
    recording = Path(voicemail.path)
    assert recording.parent == Path(hotline.settings.ivr.voicemail_dir).resolve()
    assert recording.stat().st_size > 8000, "at least half a second of 8 kHz audio"


async def test_invalid_keys_and_silence_are_retried_then_routed_to_an_agent(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, ORDINARY)
    await caller.press("1")
    await caller.press("9")  # no such option
    await caller.stay_silent()  # timeout
    await caller.press("7")  # third failure: on_fail
    await caller.queue_entry("support")
    await caller.hang_up()
    path = await recorded_path(hotline, caller.call_id)
    assert path[-2:] == ["main_menu", "agent_queue"]
    runs = await IvrRunRepository(hotline.server.db).list_for_call(caller.call_id)
    main_menu = next(step for step in runs[0].path if step["node"] == "main_menu")
    assert main_menu["result"] in ("fail", "failed", "on_fail"), main_menu


async def test_a_caller_who_hangs_up_mid_flow_leaves_a_clean_record(hotline: Lab) -> None:
    caller = await IvrCaller.dial(hotline, ORDINARY)
    await caller.press("1")
    await caller.stay_silent()  # the main menu is asking
    await caller.hang_up()
    runs = IvrRunRepository(hotline.server.db)

    async def saved() -> list | None:
        return await runs.list_for_call(caller.call_id) or None

    (run,) = await eventually(saved, 15, "the interrupted IVR run to be recorded")
    assert run.ended_by_hangup is True
    assert run.outcome is None
    assert [s["node"] for s in run.path][-1] == "main_menu"

    async def ended() -> bool:
        return hotline.server.calls.get(caller.call_id) is None

    await eventually(ended, 10, "the call to end")
    assert caller.call_id not in hotline.server.ivr.live


async def test_an_edit_applies_to_the_next_call_and_an_invalid_edit_is_rejected(hotline: Lab) -> None:
    registry = hotline.server.flows
    flow_file = Path(hotline.settings.ivr.flows_dir) / "flow.yaml"
    first_version = registry.active_version("hotline")
    assert first_version is not None

    inside = await IvrCaller.dial(hotline, ORDINARY)
    await inside.press("1")  # now in the main menu, on the first version

    flow_file.write_text(HOTLINE.replace("queue: support\n", "queue: complaint\n"), encoding="utf-8")

    async def new_version() -> bool:
        active = registry.active_version("hotline")
        return active is not None and active.number > first_version.number

    await eventually(new_version, 10, "the edited flow to be published")
    edited = registry.active_version("hotline")

    flow_file.write_text(HOTLINE.replace("next: main_menu", "next: no_such_node", 1), encoding="utf-8")
    await asyncio.sleep(1.5)  # several watch intervals
    assert registry.active_version("hotline").number == edited.number, "an invalid edit must not go live"

    await inside.press("0")  # an agent: support on the version the call started with
    await inside.queue_entry("support")

    after = await IvrCaller.dial(hotline, ORDINARY)
    await after.press("1")
    await after.press("0")  # the new version sends agents' callers to complaint
    await after.queue_entry("complaint")

    await inside.hang_up()
    await after.hang_up()
    runs = IvrRunRepository(hotline.server.db)

    async def both_recorded() -> tuple | None:
        first, second = await runs.list_for_call(inside.call_id), await runs.list_for_call(after.call_id)
        return (first, second) if first and second else None

    first_runs, next_runs = await eventually(both_recorded, 15, "both calls' IVR runs")
    assert first_runs[0].flow_version_number == first_version.number
    assert next_runs[0].flow_version_number == edited.number
