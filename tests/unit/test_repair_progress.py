"""The IVR's repair progress (issue 23 part 1) without I/O: the words it says (numbers, dates
and times as a person says them, zh and en), the ``progress`` node's validation, drawing and
dry run (what it says, the keys, the way it takes, what it would record)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ctiserver.ivr import FlowError, load_flow, load_flow_file
from ctiserver.ivr.dryrun import DryRunServices, dry_run
from ctiserver.ivr.engine.services import CustomerMatch, TicketProgress
from ctiserver.ivr.graph import flow_to_dot
from ctiserver.ivr.spoken import en_number, en_ordinal, spoken_digits, spoken_window, ticket_sentence, zh_number

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUEUES = ["support", "repair", "complaint", "installation"]
HOTLINE = Path(__file__).resolve().parents[2] / "ivr_flows" / "hotline.yaml"
CALLER = "13800138000"
TODAY = dt.date(2026, 12, 7)  # a Monday


@pytest.mark.parametrize(("n", "zh", "en"), [
    (0, "零", "zero"), (7, "七", "seven"), (10, "十", "ten"), (12, "十二", "twelve"), (20, "二十", "twenty"),
    (31, "三十一", "thirty-one"), (105, "一百零五", "one hundred and five"), (2026, "二千零二十六", "2026"),
])
def test_numbers_as_words(n: int, zh: str, en: str) -> None:
    assert zh_number(n) == zh
    assert en_number(n) == en


def test_ordinals_and_digits() -> None:
    assert [en_ordinal(n) for n in (1, 2, 3, 8, 12, 20, 21, 30)] == [
        "first", "second", "third", "eighth", "twelfth", "twentieth", "twenty-first", "thirtieth"]
    assert spoken_digits("R20261208-0001", "zh") == "二零二六幺二零八零零零幺"
    assert spoken_digits("R20261208-0001", "en").split()[:4] == ["two", "zero", "two", "six"]


def test_an_appointment_window_is_spoken_as_words() -> None:
    start = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
    end = dt.datetime(2026, 12, 8, 11, 30, tzinfo=SHANGHAI)
    assert spoken_window(start, end, "zh", TODAY) == "明天，十二月八日，星期二，上午九点到上午十一点半"
    assert spoken_window(start, end, "en", TODAY) == (
        "tomorrow, Tuesday, December the eighth, from nine o'clock in the morning to half past eleven in the morning")
    afternoon = dt.datetime(2026, 12, 10, 14, 5, tzinfo=SHANGHAI)
    assert spoken_window(afternoon, None, "zh", TODAY) == "十二月十日，星期四，下午两点五分"
    assert spoken_window(afternoon, None, "en", TODAY) == "Thursday, December the tenth, from two oh five in the afternoon"
    assert not any(c.isdigit() for c in spoken_window(start, end, "zh", dt.date(2025, 1, 1)))


def test_a_ticket_sentence_says_kind_product_status_and_window() -> None:
    start = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
    end = dt.datetime(2026, 12, 8, 11, 0, tzinfo=SHANGHAI)
    assert ticket_sentence(number="R1", type="repair", status="new", product="washing machine XQG100", start=None,
                           end=None, language="zh", today=TODAY) == "第一张工单，维修工单，单号尾号幺，产品：洗衣机 XQG100，状态：已受理，等待派单。"
    # the catalogue's category code (the demo's products), said as a word too
    coded = ticket_sentence(number="R1", type="repair", status="new", product="washing_machine XQG100", start=None,
                            end=None, language="en", today=TODAY)
    assert "washing machine XQG100" in coded and "washing_machine" not in coded
    zh = ticket_sentence(number="R20261207-0003", type="repair", status="scheduled", product="空调 KFR-35GW",
                         start=start, end=end, language="zh", today=TODAY)
    assert zh.startswith("第一张工单，维修工单，单号尾号零零零三，")
    assert "产品：空调 KFR-35GW" in zh and "状态：已预约" in zh and "上午九点到上午十一点" in zh
    en = ticket_sentence(number="R20261207-0003", type="repair", status="dispatched", product=None,
                         start=None, end=None, language="en", today=TODAY, ordinal=2)
    assert en == ("Ticket two: a repair ticket, number ending zero zero zero three. "
                  "Status: dispatched, waiting for an appointment.")


FLOW = """\
flow: progress
entry: "4008001234"
language: zh
start: who
nodes:
  who: {kind: progress, none: by_number, confirmed: bye, another_time: bye, agent: agents, next: bye}
  by_number: {kind: input, prompt: "请输入工单号", var: digits, next: keyed, on_fail: agents}
  keyed: {kind: progress, by: digits, var: digits, none: agents, confirmed: bye, another_time: bye,
          agent: agents, next: bye}
  agents: {kind: queue, queue: support}
  bye: {kind: hangup}
"""


def _flow(text: str = FLOW):  # type: ignore[no-untyped-def]
    return load_flow(text, queues=QUEUES)


def _services() -> DryRunServices:
    scheduled = TicketProgress(
        7, "R20261207-0003", "repair", "scheduled", "空调",
        dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI), dt.datetime(2026, 12, 8, 11, 0, tzinfo=SHANGHAI),
    )
    waiting = TicketProgress(5, "I20261201-0001", "installation", "dispatched", None, None, None)
    return DryRunServices({CALLER: CustomerMatch(42, "张伟", "normal")}, {42: [scheduled, waiting]})


def _clock() -> dt.datetime:
    return dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


def _said(run) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.detail for step in run.path for e in step.events if e.kind == "say"]


async def test_the_caller_hears_their_tickets_and_asks_for_another_time() -> None:
    services = _services()
    run, lines = await dry_run(_flow(), ["2"], caller_number=CALLER, services=services, clock=_clock)
    said = _said(run)
    assert said[0] == "您有两张未完成的工单。"
    assert "单号尾号零零零三，产品：空调，状态：已预约。预约上门时间：明天，十二月八日，星期二，上午九点到上午十一点" in said[1]
    assert said[2].startswith("确认预约请按1，改约其他时间请按2，人工服务请按0。听下一张工单请按9")
    assert said[-1] == "已记录您的改约请求，网点工作人员会尽快与您联系。"
    step = run.path[0]
    assert (step.result, step.next) == ("time_requested", "bye")
    assert services.actions == ["would record time_requested on ticket R20261207-0003"]
    assert "       would record time_requested on ticket R20261207-0003" in lines


async def test_silence_goes_to_the_next_ticket_and_zero_reaches_an_agent_on_it() -> None:
    services = _services()
    run, _ = await dry_run(_flow(), ["", "0"], caller_number=CALLER, services=services, clock=_clock)
    said = _said(run)
    assert any("第二张工单，安装工单" in s and "已派单，等待预约上门时间" in s for s in said)
    assert "人工服务请按0。" in said, "a ticket with no appointment offers only an agent"
    assert run.variables["ticket_number"] == "I20261201-0001"
    assert run.path[0].result == "agent" and run.outcome is not None and run.outcome.queue == "support"
    assert services.actions == []


async def test_english_callers_and_confirming() -> None:
    services = _services()
    flow = _flow(FLOW.replace("language: zh", "language: en"))
    run, _ = await dry_run(flow, ["1"], caller_number=CALLER, services=services, clock=_clock)
    said = _said(run)
    assert said[0] == "You have two open tickets."
    assert "a repair ticket" in said[1] and "tomorrow, Tuesday, December the eighth" in said[1]
    assert "for your air conditioner." in said[1], "the product's category in the caller's language"
    assert said[-1].startswith("Your appointment is confirmed")
    assert services.actions == ["would record confirmed on ticket R20261207-0003"]


async def test_a_caller_keys_in_their_ticket_number_and_a_stranger_hears_nothing_of_it() -> None:
    services = _services()
    run, _ = await dry_run(_flow(), ["202612070003", "", ""], caller_number=CALLER, services=services,
                           clock=_clock, start_at="by_number")
    assert [s.node for s in run.path][:2] == ["by_number", "keyed"]
    assert [e.detail for e in run.path[1].events if e.kind == "progress"] == ["R20261207-0003"]
    assert run.path[1].result == "heard"

    stranger, _ = await dry_run(_flow(), ["202612070003"], caller_number="13900000000", services=_services(),
                                clock=_clock)
    assert [s.node for s in stranger.path][:3] == ["who", "by_number", "keyed"]
    assert stranger.path[0].result == "none" and stranger.path[2].result == "none"
    assert not any(e.kind == "progress" for s in stranger.path for e in s.events), "a guessed number reads nothing"
    assert stranger.outcome is not None and stranger.outcome.queue == "support", "an agent checks who calls"


def test_validation_drawing_and_the_sample_hotline() -> None:
    with pytest.raises(FlowError) as caught:
        _flow(FLOW.replace("kind: progress, by: digits, var: digits,", "kind: progress, by: digits,"))
    assert "needs var" in str(caught.value)
    with pytest.raises(FlowError) as caught:
        _flow(FLOW.replace("agent: agents, next: bye}\n  by_number", "next: bye}\n  by_number"))
    assert "agent" in str(caught.value)
    dot = flow_to_dot(_flow())
    assert '"who" -> "by_number" [label="none"]' in dot and "tickets by caller" in dot
    assert '"keyed" -> "agents" [label="none, agent"]' in dot
    hotline = load_flow_file(HOTLINE, queues=QUEUES)
    assert hotline.nodes["main_menu"]["options"]["5"] == "repair_progress"
    assert hotline.nodes["repair_progress"]["kind"] == "progress"
