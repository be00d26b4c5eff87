"""The IVR flow engine: every node kind over a ScriptedChannel, conditions, the AGI
channel adapter against a scripted Asterisk, and the dry run."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ctiserver.calendar import DayRules
from ctiserver.ivr.agi_channel import AgiCallChannel
from ctiserver.ivr.channel import CallerHungUp, ScriptedChannel
from ctiserver.ivr.conditions import ConditionError, evaluate
from ctiserver.ivr.dryrun import DryRunServices, dry_run
from ctiserver.ivr.engine.run import FlowOutcome, FlowRun
from ctiserver.ivr.engine.runner import FlowEngine
from ctiserver.ivr.engine.services import (
    CallbackRequest,
    CustomerMatch,
    TicketRequest,
    VoicemailRequest,
)
from ctiserver.ivr.loader import Flow, load_flow
from ctiserver.telephony.agi.session import AgiHangup, AgiSession

QUEUES = ("support", "repair", "complaint", "installation", "vip")
CALLER = "13800138000"
# Monday 2025-06-02 10:00 in Shanghai, 02:00 in UTC
MONDAY_10_SHANGHAI = datetime(2025, 6, 2, 2, 0, tzinfo=timezone.utc)


def flow(nodes: str, *, start: str = "start", language: str = "zh", sounds: Path | None = None) -> Flow:
    text = f"flow: test\nentry: \"4008001234\"\nlanguage: {language}\nstart: {start}\nnodes:\n"
    text += textwrap.indent(textwrap.dedent(nodes), "  ")
    return load_flow(text, queues=QUEUES, sounds_dirs=[sounds] if sounds else [])


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    """A sounds directory holding the recorded prompts the flows name."""
    for name in ("beep", "custom/menu"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.wav").write_bytes(b"RIFF")
    return tmp_path


class FakePrompts:
    def __init__(self, broken: str | None = None) -> None:
        self.broken = broken

    async def sound_for(self, text: str, language: str) -> str:
        if text == self.broken:
            raise RuntimeError("espeak-ng is broken")
        return f"tts:{language}:{text}"

    def file_sound(self, name: str) -> str:
        return f"file:{name}"


class FakeServices:
    def __init__(self, customers: dict[str, CustomerMatch] | None = None, *, broken: bool = False) -> None:
        self.customers = customers or {}
        self.broken = broken
        self.lookups: list[str] = []
        self.tickets: list[TicketRequest] = []
        self.callbacks: list[CallbackRequest] = []
        self.voicemails: list[VoicemailRequest] = []
        self.surveys: list[tuple[str, int]] = []
        #: queues with an agent able to take a call; None: every queue
        self.staffed: set[str] | None = None

    def agents_available(self, queue: str) -> bool:
        return self.staffed is None or queue in self.staffed

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("database is down")

    async def lookup_customer(self, number: str) -> CustomerMatch | None:
        self.lookups.append(number)
        self._check()
        return self.customers.get(number)

    async def open_ticket(self, request: TicketRequest) -> str:
        self._check()
        self.tickets.append(request)
        return f"T{len(self.tickets)}"

    async def request_callback(self, request: CallbackRequest) -> str:
        self._check()
        self.callbacks.append(request)
        return f"CB{len(self.callbacks)}"

    async def save_voicemail(self, request: VoicemailRequest) -> str:
        self._check()
        self.voicemails.append(request)
        return f"VM{len(self.voicemails)}"

    async def record_survey(self, call_id: str, score: int) -> None:
        self._check()
        self.surveys.append((call_id, score))

    def voicemail_path(self, call_id: str) -> tuple[str, str]:
        return (f"/srv/vm/{call_id}", f"/var/spool/vm/{call_id}")


VIP = CustomerMatch(7, "王芳", "vip", "广东")
NORMAL = CustomerMatch(8, "张伟", "normal", None)


async def run(
    f: Flow,
    presses: list[str] = (),  # type: ignore[assignment]
    *,
    services: FakeServices | None = None,
    prompts: FakePrompts | None = None,
    caller: str | None = CALLER,
    clock: datetime = MONDAY_10_SHANGHAI,
    channel: ScriptedChannel | None = None,
    **kwargs,
) -> tuple[FlowRun, ScriptedChannel, FakeServices]:
    services = services or FakeServices()
    channel = channel or ScriptedChannel(presses)
    engine = FlowEngine(services, prompts or FakePrompts(), clock=lambda: clock, **kwargs.pop("engine", {}))
    result = await engine.run(f, channel, call_id="c1", caller_number=caller, caller_name="张伟", **kwargs)
    return result, channel, services


def said(channel: ScriptedChannel) -> list[str]:
    return [line for line in channel.transcript if line.startswith(("play", "read"))]


# -- play, hangup, goto ----------------------------------------------------------


async def test_play_goto_hangup():
    f = flow("""
        start: {kind: play, prompt: "您好，${caller_name}", next: jump}
        jump: {kind: goto, target: bye}
        bye: {kind: hangup, prompt: {zh: 再见, en: Bye}}
    """)
    result, channel, _ = await run(f)
    assert [s.node for s in result.path] == ["start", "jump", "bye"]
    assert result.outcome == FlowOutcome("hangup")
    assert not result.ended_by_hangup
    assert channel.transcript == [
        "play tts:zh:您好，张伟",
        "play tts:zh:再见",
        "set CTI_ACTION=hangup",
        "hangup",
    ]
    assert result.path[0].next == "jump" and result.path[-1].next is None


async def test_file_prompt_uses_the_prompt_source(sounds: Path):
    f = flow("""
        start: {kind: hangup, prompt: {file: beep}}
    """, sounds=sounds)
    result, channel, _ = await run(f)
    assert channel.transcript[0] == "play file:beep"
    assert [(e.kind, e.detail) for e in result.path[0].events] == [("file", "beep")]


# -- menu ------------------------------------------------------------------------

MENU = """
    start:
      kind: menu
      prompt: 报修请按1，投诉请按2
      options: {1: repair, 2: complaint}
      retries: 3
      invalid_prompt: 输入有误
      timeout_prompt: 没有收到按键
      on_fail: operator
    repair: {kind: queue, queue: repair}
    complaint: {kind: queue, queue: complaint}
    operator: {kind: queue, queue: support}
"""


async def test_menu_picks_an_option():
    result, channel, _ = await run(flow(MENU), ["2"])
    assert result.outcome.queue == "complaint"
    assert result.path[0].result == "selected" and result.path[0].digits == "2"
    assert result.variables["last_digits"] == "2"


async def test_menu_retries_then_succeeds():
    result, channel, _ = await run(flow(MENU), ["9", "", "1"])
    assert result.outcome.queue == "repair"
    assert said(channel) == [
        "read tts:zh:报修请按1，投诉请按2 -> '9'",
        "play tts:zh:输入有误",
        "read tts:zh:报修请按1，投诉请按2 -> ''",
        "play tts:zh:没有收到按键",
        "read tts:zh:报修请按1，投诉请按2 -> '1'",
    ]
    assert [(e.detail, e.tag) for e in result.path[0].events if e.kind == "keys"] == [
        ("9", "invalid"), ("", "timeout"), ("1", "ok"),
    ]


async def test_menu_goes_to_on_fail_after_retries():
    result, channel, _ = await run(flow(MENU), ["9", "8", ""])
    assert result.path[0].result == "failed"
    assert result.path[0].next == "operator"
    assert result.outcome.queue == "support"
    assert channel.remaining == []


# -- input -----------------------------------------------------------------------

INPUT = """
    start:
      kind: input
      prompt: 请输入手机号，以井号结束
      var: callback_number
      validate: phone
      min_digits: 3
      invalid_prompt: 号码无效
      on_fail: operator
      next: done
    done: {kind: hangup}
    operator: {kind: queue, queue: support}
"""


async def test_input_accepts_a_mobile_number():
    result, channel, _ = await run(flow(INPUT), ["13800138000#"])
    assert result.variables["callback_number"] == "13800138000"
    assert result.path[0].result == "valid"
    assert result.outcome.action == "hangup"


async def test_input_rejects_short_numbers_then_accepts():
    result, channel, _ = await run(flow(INPUT), ["123", "13800138000"])
    assert result.variables["callback_number"] == "13800138000"
    assert "play tts:zh:号码无效" in channel.transcript


async def test_input_fails_after_retries():
    result, _, _ = await run(flow(INPUT), ["123", "", "12345678901"])
    assert "callback_number" not in result.variables
    assert result.path[0].result == "failed"
    assert result.outcome.queue == "support"


@pytest.mark.parametrize(
    ("validate", "digits", "ok"),
    [
        ("phone", "13800138000", True),
        ("phone", "02162345678", True),
        ("phone", "01062345678", True),
        ("phone", "075588886666", True),
        ("phone", "02112345678", False),
        ("phone", "123", False),
        ("phone", "12800138000", False),
        ("order_number", "20250601", True),
        ("order_number", "2025060", False),
        ("digits", "42", True),
        ("{pattern: 'A?[0-9]{4}'}", "1234", True),
        ("{pattern: '[0-9]{4}'}", "12345", False),
    ],
)
async def test_input_validation(validate: str, digits: str, ok: bool):
    f = flow(f"""
        start: {{kind: input, prompt: 请输入, var: x, validate: {validate}, retries: 1, next: good, on_fail: bad}}
        good: {{kind: hangup}}
        bad: {{kind: queue, queue: support}}
    """)
    result, _, _ = await run(f, [digits])
    assert (result.outcome.action == "hangup") is ok


# -- hours -----------------------------------------------------------------------

HOURS = """
    start:
      kind: hours
      timezone: {tz}
      open:
        - {{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}}
      holidays: ["2025-10-01"]
      when_open: open
      when_closed: closed
    open: {{kind: queue, queue: support}}
    closed: {{kind: hangup}}
"""


async def test_hours_open_in_shanghai_though_closed_in_utc():
    result, _, _ = await run(flow(HOURS.format(tz="Asia/Shanghai")), clock=MONDAY_10_SHANGHAI)
    assert result.path[0].result == "open"
    assert result.path[0].events[0].detail == "Mon 2025-06-02 10:00 Asia/Shanghai"
    result, _, _ = await run(flow(HOURS.format(tz="UTC")), clock=MONDAY_10_SHANGHAI)
    assert result.path[0].result == "closed"


async def test_hours_closed_on_a_holiday():
    holiday = datetime(2025, 10, 1, 2, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in Shanghai
    result, _, _ = await run(flow(HOURS.format(tz="Asia/Shanghai")), clock=holiday)
    assert result.path[0].result == "closed"
    assert result.outcome.action == "hangup"


async def test_hours_open_mode_takes_when_open_at_any_hour():
    """The lab's engine (ivr.hours = "open"): 23:00 on a holiday is open, and says so."""
    late = datetime(2025, 10, 1, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai, a holiday
    result, _, _ = await run(flow(HOURS.format(tz="Asia/Shanghai")), clock=late)
    assert result.path[0].result == "closed"
    result, _, _ = await run(flow(HOURS.format(tz="Asia/Shanghai")), clock=late, engine={"hours": "open"})
    assert result.path[0].result == "open"
    assert result.outcome.queue == "support"
    assert result.path[0].events[0].detail == "Wed 2025-10-01 23:00 Asia/Shanghai"
    assert result.path[0].events[0].tag == "always open"


def shanghai_2026(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour - 8, 0, tzinfo=timezone.utc)


async def test_hours_follow_the_business_calendar_of_2026():
    """The server's days (official arrangement): open on the Saturday worked before the Spring
    Festival and on the Saturday after National Day, closed on the festival's Monday and on
    National Day's Friday, though the node opens Monday to Friday only."""
    days = DayRules.official("CN")
    f = flow(HOURS.format(tz="Asia/Shanghai"))
    for when, expected in [
        (shanghai_2026(2, 14), "open"),  # Saturday, a make-up working day
        (shanghai_2026(2, 16), "closed"),  # Monday, Spring Festival
        (shanghai_2026(2, 24), "open"),  # Tuesday after it
        (shanghai_2026(2, 21), "closed"),  # Saturday in the festival
        (shanghai_2026(2, 7), "closed"),  # an ordinary Saturday
        (shanghai_2026(10, 2), "closed"),  # Friday, National Day
        (shanghai_2026(10, 10), "open"),  # Saturday, a make-up working day
        (shanghai_2026(10, 10, 19), "closed"),  # after its hours
    ]:
        result, _, _ = await run(f, clock=when, engine={"days": days})
        assert result.path[0].result == expected, when
    result, _, _ = await run(f, clock=shanghai_2026(2, 14), engine={"days": days})
    assert result.outcome.queue == "support"
    assert result.path[0].events[0].detail == "Sat 2026-02-14 10:00 Asia/Shanghai"


async def test_hours_node_dates_and_public_holidays_false():
    days = DayRules.official("CN")
    own = HOURS.replace('holidays: ["2025-10-01"]', 'holidays: ["2026-02-24"]\n      workdays: ["2026-02-08"]')
    result, _, _ = await run(flow(own.format(tz="Asia/Shanghai")), clock=shanghai_2026(2, 24), engine={"days": days})
    assert result.path[0].result == "closed"  # the node's own holiday
    result, _, _ = await run(flow(own.format(tz="Asia/Shanghai")), clock=shanghai_2026(2, 8), engine={"days": days})
    assert result.path[0].result == "open"  # the node's own working Sunday
    alone = HOURS.replace('holidays: ["2025-10-01"]', "public_holidays: false")
    for when, expected in [(shanghai_2026(2, 16), "open"), (shanghai_2026(2, 14), "closed")]:
        result, _, _ = await run(flow(alone.format(tz="Asia/Shanghai")), clock=when, engine={"days": days})
        assert result.path[0].result == expected, when
    # without the server's days (the engine's default) only the node's own dates count
    result, _, _ = await run(flow(HOURS.format(tz="Asia/Shanghai")), clock=shanghai_2026(2, 16))
    assert result.path[0].result == "open"


def test_hours_mode_is_checked():
    with pytest.raises(ValueError, match="hours must be one of flow, open"):
        FlowEngine(FakeServices(), FakePrompts(), hours="closed")


# -- lookup, branch, set ---------------------------------------------------------

LOOKUP = """
    start: {kind: lookup, by: caller_id, found: known, vip: vip, not_found: unknown}
    known: {kind: queue, queue: support}
    vip: {kind: queue, queue: vip}
    unknown: {kind: queue, queue: repair}
"""


async def test_lookup_by_caller_id():
    services = FakeServices({CALLER: VIP})
    result, _, _ = await run(flow(LOOKUP), services=services)
    assert result.path[0].result == "vip"
    assert result.outcome.queue == "vip"
    assert result.variables["customer_id"] == "7"
    assert result.variables["customer_name"] == "王芳"
    assert result.variables["customer_level"] == "vip"
    assert result.variables["customer_region"] == "广东"

    result, _, _ = await run(flow(LOOKUP), services=FakeServices({CALLER: NORMAL}))
    assert (result.path[0].result, result.outcome.queue) == ("found", "support")
    assert result.variables["customer_region"] == ""

    result, _, _ = await run(flow(LOOKUP), services=FakeServices())
    assert (result.path[0].result, result.outcome.queue) == ("not_found", "repair")
    assert result.variables["customer_id"] == ""


async def test_lookup_without_caller_id_or_with_the_database_down():
    services = FakeServices({CALLER: VIP})
    result, _, _ = await run(flow(LOOKUP), services=services, caller=None)
    assert result.outcome.queue == "repair" and services.lookups == []

    result, _, _ = await run(flow(LOOKUP), services=FakeServices(broken=True))
    assert result.outcome.queue == "repair"
    assert result.path[0].result == "error"
    assert result.error is None


async def test_lookup_by_typed_digits_vip_defaults_to_found():
    f = flow("""
        start: {kind: input, prompt: 请输入电话, var: phone, validate: phone, next: find, on_fail: find}
        find: {kind: lookup, by: digits, var: phone, found: known, not_found: unknown}
        known: {kind: queue, queue: support}
        unknown: {kind: queue, queue: repair}
    """)
    services = FakeServices({"13912345678": VIP})
    result, _, _ = await run(f, ["13912345678"], services=services)
    assert services.lookups == ["13912345678"]
    assert result.outcome.queue == "support"


async def test_branch_and_set():
    f = flow("""
        start: {kind: set, vars: {product: 空调, greeting: "${caller_number}-${product}-${nothing}"}, next: check}
        check:
          kind: branch
          cases:
            - when: {var: product, equals: 冰箱}
              goto: fridge
            - when: {all: [{var: caller_number, matches: "1[3-9][0-9]{9}"}, {not: {var: product, in: [电视]}}]}
              goto: mobile
          else: other
        fridge: {kind: queue, queue: repair}
        mobile: {kind: queue, queue: installation}
        other: {kind: queue, queue: support}
    """)
    result, _, _ = await run(f)
    assert result.variables["greeting"] == "13800138000-空调-"
    assert result.path[1].result == "case 2"
    assert result.outcome.queue == "installation"


# -- ticket, queue ---------------------------------------------------------------


async def test_ticket_opens_with_the_customer_and_the_path():
    f = flow("""
        start: {kind: lookup, by: caller_id, found: ticket, not_found: ticket}
        ticket:
          kind: ticket
          type: repair
          summary: "${customer_name} 报修 (${caller_number})"
          fields: {product: 空调, order: "${order}"}
          next: queue
        queue: {kind: queue, queue: repair}
    """)
    services = FakeServices({CALLER: NORMAL})
    result, channel, _ = await run(f, services=services)
    [ticket] = services.tickets
    assert ticket.type == "repair"
    assert ticket.summary == "张伟 报修 (13800138000)"
    assert ticket.fields == {"product": "空调", "order": ""}
    assert (ticket.customer_id, ticket.caller_number, ticket.call_id) == (8, CALLER, "c1")
    assert ticket.flow_path == ["start", "ticket"]
    assert result.variables["ticket_id"] == "T1"
    assert channel.variables["CTI_TICKET"] == "T1"


async def test_ticket_failure_still_reaches_the_queue():
    f = flow("""
        start: {kind: ticket, type: complaint, summary: 投诉, next: queue}
        queue: {kind: queue, queue: complaint}
    """)
    result, _, _ = await run(f, services=FakeServices(broken=True))
    assert result.outcome.queue == "complaint"
    assert result.variables["ticket_id"] == ""
    assert result.path[0].events[-1].kind == "error"


QUEUE_BY = """
    start: {kind: lookup, by: caller_id, found: queue, not_found: queue}
    queue:
      kind: queue
      queue_by: {var: product, map: {fridge: repair, tv: installation}, default: support}
      priority: 1
      vip_priority: 9
      timeout: 300
      after: survey
    survey: {kind: survey, prompt: 请评分, next: bye}
    bye: {kind: hangup}
"""


async def test_queue_vip_priority_and_channel_variables():
    services = FakeServices({CALLER: VIP})
    result, channel, _ = await run(flow(QUEUE_BY), services=services, variables={"product": "tv"})
    assert result.outcome == FlowOutcome("queue", queue="installation", priority=9, timeout=300, after="survey")
    assert (result.variables["queue"], result.variables["queue_priority"]) == ("installation", "9")
    assert channel.variables == {
        "CTI_ACTION": "queue",
        "CTI_QUEUE": "installation",
        "QUEUE_PRIO": "9",
        "CTI_QUEUE_TIMEOUT": "300",
        "CTI_AFTER": "survey",
        "CHANNEL(language)": "zh",
    }
    assert not channel.hung_up


async def test_queue_by_default_and_normal_priority():
    result, _, _ = await run(flow(QUEUE_BY), services=FakeServices({CALLER: NORMAL}), variables={"product": "洗衣机"})
    assert (result.outcome.queue, result.outcome.priority) == ("support", 1)
    result, _, _ = await run(flow(QUEUE_BY), variables={"product": "fridge"})
    assert (result.outcome.queue, result.outcome.priority) == ("repair", 1)


async def test_vip_priority_defaults_to_priority():
    f = flow("""
        start: {kind: lookup, by: caller_id, found: q, not_found: q}
        q: {kind: queue, queue: support, priority: 4}
    """)
    result, channel, _ = await run(f, services=FakeServices({CALLER: VIP}))
    assert result.outcome.priority == 4
    assert channel.variables["CTI_QUEUE_TIMEOUT"] == ""


NOBODY = """
    start: {kind: queue, queue: complaint, overflow_queue: support, overflow_after: 30, no_agents: offer}
    offer: {kind: callback, number: caller_id, next: bye}
    bye: {kind: hangup}
"""


async def test_queue_without_available_agents_goes_to_the_no_agents_node():
    services = FakeServices()
    services.staffed = {"support"}
    result, _, _ = await run(flow(NOBODY), services=services)
    assert [s.node for s in result.path] == ["start", "offer", "bye"]
    assert result.path[0].result == "no agents"
    assert [c.number for c in services.callbacks] == [CALLER]
    assert services.callbacks[0].source == "no_agent"
    assert result.outcome.action == "hangup"


async def test_staffed_queue_overflows_after_its_wait():
    services = FakeServices()
    services.staffed = {"complaint"}
    result, channel, _ = await run(flow(NOBODY), services=services)
    assert (result.outcome.queue, result.outcome.overflow_queue, result.outcome.timeout) == ("complaint", "support", 30)
    assert channel.variables["CTI_OVERFLOW"] == "support"
    assert channel.variables["CTI_QUEUE_TIMEOUT"] == "30"


async def test_after_continuation_runs_the_survey():
    services = FakeServices()
    result, channel, _ = await run(
        flow(QUEUE_BY), ["7", "4"], services=services, start_at="survey", variables={"customer_id": "7"}
    )
    assert [s.node for s in result.path] == ["survey", "bye"]
    assert result.variables["survey_score"] == "4"
    assert services.surveys == [("c1", 4)]


# -- callback, voicemail, transfer, survey, language ----------------------------


async def test_callback_to_the_caller_and_to_a_typed_number():
    f = flow("""
        start: {kind: callback, number: caller_id, prompt: 我们会尽快回电, next: typed}
        typed: {kind: input, prompt: 请输入号码, var: other, validate: phone, next: cb, on_fail: bye}
        cb: {kind: callback, number: {var: other}, next: bye}
        bye: {kind: hangup}
    """)
    services = FakeServices()
    result, channel, _ = await run(f, ["13912345678"], services=services)
    assert [c.number for c in services.callbacks] == [CALLER, "13912345678"]
    assert services.callbacks[0].call_id == "c1"
    assert "play tts:zh:我们会尽快回电" in channel.transcript
    assert result.path[0].result == "requested"
    assert [(c.source, c.choices) for c in services.callbacks] == [
        ("requested", ()), ("requested", ("typed:13912345678",))]


async def test_a_callback_outside_hours_says_so_with_the_callers_choices():
    f = flow("""
        start: {kind: hours, timezone: Asia/Shanghai, open: [{days: [mon], from: "08:00", to: "09:00"}],
                when_open: bye, when_closed: menu}
        menu: {kind: menu, prompt: 回电请按1, options: {"1": cb}, on_fail: bye}
        cb: {kind: callback, number: caller_id, next: bye}
        bye: {kind: hangup}
    """)
    services = FakeServices({CALLER: VIP})
    result, _, _ = await run(f, ["1"], services=services)
    assert [s.node for s in result.path] == ["start", "menu", "cb", "bye"]
    (request,) = services.callbacks
    assert (request.source, request.choices, request.vip) == ("closed", ("menu:1",), False)


async def test_voicemail_records_and_saves():
    f = flow("""
        start: {kind: voicemail, prompt: 请在提示音后留言, max_seconds: 60, next: bye}
        bye: {kind: hangup, prompt: 谢谢}
    """)
    services = FakeServices({CALLER: NORMAL})
    result, channel, _ = await run(f, services=services)
    assert "record /var/spool/vm/c1 max 60s" in channel.transcript
    assert services.voicemails == [VoicemailRequest("/srv/vm/c1.wav", CALLER, None, "c1")]
    assert result.path[0].result == "recorded"

    result, channel, services = await run(f, channel=ScriptedChannel(record_ok=False))
    assert services.voicemails == [] and result.path[0].result == "not_recorded"


async def test_transfer():
    f = flow("""
        start: {kind: transfer, to: "8001"}
    """)
    result, channel, _ = await run(f)
    assert result.outcome == FlowOutcome("transfer", transfer_to="8001")
    assert channel.variables == {"CTI_ACTION": "transfer", "CTI_TRANSFER": "8001"}


async def test_survey_accepts_only_one_to_five():
    f = flow("""
        start: {kind: survey, prompt: 请为本次服务打分, thanks: 感谢您的评价, retries: 2, next: bye}
        bye: {kind: hangup}
    """)
    services = FakeServices()
    result, channel, _ = await run(f, ["0", "5"], services=services)
    assert services.surveys == [("c1", 5)]
    assert result.variables["survey_score"] == "5"
    assert "play tts:zh:感谢您的评价" in channel.transcript

    services = FakeServices()
    result, channel, _ = await run(f, ["9", ""], services=services)
    assert services.surveys == [] and result.path[0].result == "no_score"
    assert "survey_score" not in result.variables
    assert result.outcome.action == "hangup"


async def test_language_switch_changes_the_prompts():
    f = flow("""
        start:
          kind: language
          prompt: "中文请按1, for English press 2"
          options: {1: zh, 2: en}
          default: zh
          next: hi
        hi: {kind: play, prompt: {zh: 您好, en: Hello}, next: zh_only}
        zh_only: {kind: play, prompt: {zh: 仅中文}, next: plain}
        plain: {kind: hangup, prompt: Goodbye}
    """)
    result, channel, _ = await run(f, ["2"])
    assert result.variables["language"] == "en"
    assert said(channel)[1:] == ["play tts:en:Hello", "play tts:zh:仅中文", "play tts:en:Goodbye"]

    result, _, _ = await run(f, [""])
    assert result.variables["language"] == "zh"


# -- hang-ups, loops, failures ---------------------------------------------------


async def test_caller_hanging_up_mid_flow_gives_a_clean_run():
    f = flow("""
        start: {kind: play, prompt: 欢迎, next: menu}
        menu: {kind: menu, prompt: 请选择, options: {1: q}, on_fail: q}
        q: {kind: queue, queue: support}
    """)
    result, channel, _ = await run(f, [])
    assert result.ended_by_hangup
    assert result.outcome is None and result.error is None
    assert [s.node for s in result.path] == ["start", "menu"]


class HangingUpChannel(ScriptedChannel):
    async def play(self, sound: str) -> None:
        raise AgiHangup("channel hung up")


async def test_agi_hangup_also_ends_the_run_cleanly():
    f = flow("""
        start: {kind: play, prompt: 欢迎, next: q}
        q: {kind: queue, queue: support}
    """)
    result, _, _ = await run(f, channel=HangingUpChannel())
    assert result.ended_by_hangup and result.outcome is None


async def test_loop_guard_hangs_up():
    f = flow("""
        start: {kind: goto, target: again}
        again: {kind: set, vars: {x: "1"}, next: start}
    """)
    result, channel, _ = await run(f, engine={"max_steps": 10})
    assert len(result.path) == 10
    assert result.outcome == FlowOutcome("hangup")
    assert "more than 10 steps" in result.error
    assert channel.hung_up


async def test_a_prompt_that_cannot_be_made_is_skipped():
    f = flow("""
        start: {kind: play, prompt: 坏的, next: menu}
        menu: {kind: menu, prompt: 好的, options: {1: q}, on_fail: q}
        q: {kind: queue, queue: support}
    """)
    result, channel, _ = await run(f, ["1"], prompts=FakePrompts(broken="坏的"))
    assert result.outcome.queue == "support"
    assert result.path[0].events[-1].kind == "error"
    assert channel.transcript[0] == "read tts:zh:好的 -> '1'"


# -- conditions ------------------------------------------------------------------

VARS = {"level": "vip", "region": "广东", "order": "A1234", "empty": ""}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"var": "level", "equals": "vip"}, True),
        ({"var": "level", "not_equals": "vip"}, False),
        ({"var": "region", "in": ["广东", "广西"]}, True),
        ({"var": "missing", "in": ["x"]}, False),
        ({"var": "order", "matches": "A[0-9]{4}"}, True),
        ({"var": "order", "matches": "A[0-9]{3}"}, False),  # full match only
        ({"var": "empty", "set": False}, True),
        ({"var": "level", "set": True}, True),
        ({"var": "missing", "set": True}, False),
        ({"all": [{"var": "level", "equals": "vip"}, {"var": "region", "equals": "广东"}]}, True),
        ({"all": [{"var": "level", "equals": "vip"}, {"var": "region", "equals": "北京"}]}, False),
        ({"any": [{"var": "level", "equals": "normal"}, {"var": "region", "equals": "广东"}]}, True),
        ({"not": {"var": "level", "equals": "vip"}}, False),
        ({"var": "level", "equals": "__import__('os').system('false')"}, False),
    ],
)
def test_conditions(condition, expected):
    assert evaluate(condition, VARS) is expected


def test_conditions_are_data_not_code():
    assert evaluate({"var": "x", "equals": "1 + 1"}, {"x": "1 + 1"})
    assert not evaluate({"var": "x", "equals": "2"}, {"x": "1 + 1"})
    with pytest.raises(ConditionError):
        evaluate({"expr": "level == 'vip'"}, VARS)
    with pytest.raises(ConditionError):
        evaluate({"var": "level", "equals": "vip", "in": ["vip"]}, VARS)


# -- dry run ---------------------------------------------------------------------


async def test_dry_run_lines():
    f = flow("""
        start: {kind: play, prompt: 您好，欢迎致电售后服务热线, next: menu}
        menu:
          kind: menu
          prompt: 报修请按1
          options: {1: who}
          invalid_prompt: 输入有误
          on_fail: q
        who: {kind: lookup, by: caller_id, found: ticket, not_found: ticket}
        ticket: {kind: ticket, type: repair, summary: "${customer_name}的空调不制冷", next: q}
        q: {kind: queue, queue: repair, priority: 2, vip_priority: 8}
    """)
    services = DryRunServices({CALLER: VIP})
    result, lines = await dry_run(f, ["7", "1", "3"], caller_number=CALLER, services=services)
    assert lines == [
        f"flow test (version {f.version}), caller 13800138000",
        "  1. start [play]",
        "       says (zh): 您好，欢迎致电售后服务热线",
        "       -> menu",
        "  2. menu [menu]",
        "       says (zh): 报修请按1",
        "       pressed 7: invalid",
        "       says (zh): 输入有误",
        "       says (zh): 报修请按1",
        "       pressed 1",
        "       -> who (selected)",
        "  3. who [lookup]",
        "       looks up 13800138000: 王芳",
        "       -> ticket (vip)",
        "  4. ticket [ticket]",
        "       would open repair ticket: 王芳的空调不制冷",
        "       -> q (DRY-1)",
        "  5. q [queue]",
        "       -> end (repair)",
        "outcome: queue repair (priority 8)",
        "variables: caller_number=13800138000, customer_id=7, customer_level=vip, "
        "customer_name=王芳, customer_region=广东, language=zh, last_digits=1, "
        "queue=repair, queue_priority=8, ticket_id=DRY-1",
        "unused key presses: '3'",
    ]
    assert services.actions == ["would open repair ticket: 王芳的空调不制冷"]
    assert result.outcome.priority == 8


async def test_dry_run_caller_hangs_up():
    f = flow("""
        start: {kind: menu, prompt: 请选择, options: {1: q}, on_fail: q}
        q: {kind: queue, queue: support}
    """)
    result, lines = await dry_run(f, [], caller_number=None)
    assert result.ended_by_hangup
    assert lines[0].endswith("caller unknown")
    assert "caller hung up" in lines


# -- the AGI channel against a scripted Asterisk ---------------------------------


class ScriptedAsterisk:
    """The writer side of an AgiSession: checks each command, feeds back its reply."""

    def __init__(self, reader: asyncio.StreamReader, dialogue: list[tuple[str, str]]) -> None:
        self.reader = reader
        self.dialogue = list(dialogue)
        self.sent: list[str] = []

    def write(self, data: bytes) -> None:
        line = data.decode().rstrip("\n")
        self.sent.append(line)
        expected, reply = self.dialogue.pop(0)
        assert line == expected
        self.reader.feed_data(reply.encode() + b"\n")

    async def drain(self) -> None:
        return None

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None


def agi_channel(dialogue: list[tuple[str, str]]) -> tuple[AgiCallChannel, ScriptedAsterisk]:
    reader = asyncio.StreamReader()
    asterisk = ScriptedAsterisk(reader, dialogue)
    session = AgiSession({"agi_channel": "PJSIP/test-1"}, reader, asterisk)  # type: ignore[arg-type]
    return AgiCallChannel(session), asterisk


async def test_agi_menu_key_during_the_prompt():
    channel, asterisk = agi_channel([('STREAM FILE "/p/menu" "0123456789*#"', "200 result=50 endpos=8000")])
    assert await channel.play_and_read("/p/menu", timeout=5, max_digits=1, terminator="") == "2"
    assert asterisk.dialogue == []


async def test_agi_menu_key_after_the_prompt_and_timeout():
    channel, asterisk = agi_channel([
        ('STREAM FILE "/p/menu" "0123456789*#"', "200 result=0 endpos=16000"),
        ("WAIT FOR DIGIT 5000", "200 result=35"),
        ('STREAM FILE "/p/menu" "0123456789*#"', "200 result=0 endpos=16000"),
        ("WAIT FOR DIGIT 5000", "200 result=0"),
    ])
    assert await channel.play_and_read("/p/menu", timeout=5, max_digits=1, terminator="") == "#"
    assert await channel.play_and_read("/p/menu", timeout=5, max_digits=1, terminator="") == ""


async def test_agi_get_data_for_hash_terminated_input():
    channel, _ = agi_channel([
        ('GET DATA "/p/phone" 5000 20', "200 result=13800138000"),
        ('GET DATA "/p/phone" 5000 20', "200 result= (timeout)"),
        ('GET DATA "silence/1" 3000 20', "200 result=12 (timeout)"),
    ])
    assert await channel.play_and_read("/p/phone", timeout=5, max_digits=20, terminator="#") == "13800138000"
    assert await channel.play_and_read("/p/phone", timeout=5, max_digits=20, terminator="#") == ""
    assert await channel.play_and_read(None, timeout=3, max_digits=20, terminator="#") == "12"


async def test_agi_input_with_another_terminator():
    channel, _ = agi_channel([
        ('STREAM FILE "/p/order" "0123456789*#"', "200 result=49 endpos=100"),
        ("WAIT FOR DIGIT 4000", "200 result=50"),
        ("WAIT FOR DIGIT 4000", "200 result=42"),
    ])
    assert await channel.play_and_read("/p/order", timeout=4, max_digits=10, terminator="*") == "12"


async def test_agi_record_set_variable_hangup():
    channel, asterisk = agi_channel([
        ('RECORD FILE "/spool/vm/c1" wav "#" 60000 BEEP', "200 result=35 (dtmf) endpos=24000"),
        ('RECORD FILE "/spool/vm/c2" wav "#" 60000 BEEP', "200 result=-1 (hangup) endpos=8000"),
        ('RECORD FILE "/spool/vm/c3" wav "#" 60000 BEEP', "200 result=-1 (writefile)"),
        ('SET VARIABLE CTI_QUEUE "repair"', "200 result=1"),
        ("HANGUP", "200 result=1"),
    ])
    assert await channel.record("/spool/vm/c1", 60)
    assert await channel.record("/spool/vm/c2", 60)
    assert not await channel.record("/spool/vm/c3", 60)
    await channel.set_variable("CTI_QUEUE", "repair")
    await channel.hangup()
    assert asterisk.dialogue == []


async def test_agi_hangup_becomes_caller_hung_up():
    channel, _ = agi_channel([('STREAM FILE "/p/welcome" ""', "HANGUP")])
    with pytest.raises(CallerHungUp):
        await channel.play("/p/welcome")
    await channel.hangup()  # the channel is gone: nothing to do, no error


async def test_engine_over_agi(sounds: Path):
    f = flow("""
        start: {kind: menu, prompt: {file: custom/menu}, options: {1: q}, on_fail: q}
        q: {kind: queue, queue: repair}
    """, sounds=sounds)
    channel, asterisk = agi_channel([
        ('STREAM FILE "file:custom/menu" "0123456789*#"', "200 result=49 endpos=100"),
        ('SET VARIABLE CTI_ACTION "queue"', "200 result=1"),
        ('SET VARIABLE CTI_QUEUE "repair"', "200 result=1"),
        ('SET VARIABLE QUEUE_PRIO "0"', "200 result=1"),
        ('SET VARIABLE CTI_QUEUE_TIMEOUT ""', "200 result=1"),
    ])
    engine = FlowEngine(FakeServices(), FakePrompts())
    result = await engine.run(f, channel, call_id="c1", caller_number=CALLER, caller_name=None)
    assert result.outcome.queue == "repair" and asterisk.dialogue == []
