"""``ctiserver simulate call``: keys pressed when the IVR listens, caller IDs that keep
their number, names that stay text (issue 9). Against a scripted AMI session; the
real thing is tests/integration/test_lab_any_hour.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import pytest
from panoramisk.message import Message

from ctiserver.ivr.hotline import LISTENING_EVENT
from ctiserver.lab.simulate import (
    CALLER_ID_BYTES,
    CallWatch,
    LabCall,
    SimulationError,
    caller_id,
    originate_action,
    parse_presses,
    simulate_call,
    talk_then_hang_up,
)
from ctiserver.settings import Settings
from ctiserver.telephony.ami.actions import AmiActionFailed, check_fields

IVR_SIDE = "Local/s@lab-caller-0000002a;1"
PHONE = "Local/s@lab-caller-0000002a;2"


def message(**fields: str) -> Message:
    return Message(fields)


class ScriptedAmi:
    """Records actions; ``ask`` plays the IVR sending CtiIvrListening."""

    def __init__(self) -> None:
        self.actions: list[dict[str, str | Sequence[str]]] = []
        self.handlers: list[Callable[[Message], Awaitable[None] | None]] = []
        self.call_id = ""

    def on_event(self, handler: Callable[[Message], Awaitable[None] | None]) -> None:
        self.handlers.append(handler)

    async def send_action(self, fields: Mapping[str, str | Sequence[str]]) -> Message:
        check_fields(fields)
        self.actions.append(dict(fields))
        if fields["Action"] == "Originate":
            self.call_id = str(fields["ChannelId"])
        return message(Response="Success")

    def emit(self, **fields: str) -> None:
        for handler in self.handlers:
            handler(message(**fields))

    def ask(self, question: int, call_id: str | None = None) -> None:
        self.emit(Event="UserEvent", UserEvent=LISTENING_EVENT, CallId=call_id or self.call_id,
                  Question=str(question), Channel=IVR_SIDE)

    def pressed(self) -> list[tuple[str, str]]:
        return [(str(a["Channel"]), str(a["Digit"])) for a in self.actions if a["Action"] == "PlayDTMF"]


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


FAST = {"settle": 0.0, "key_gap": 0.0}


async def test_each_answer_waits_for_its_question() -> None:
    ami = ScriptedAmi()
    lines: list[str] = []
    task = asyncio.create_task(simulate_call(
        ami, Settings(), LabCall("13800138000", "张伟", hangup_after=0), ["1", "0"],
        report=lines.append, **FAST,
    ))
    await until(lambda: ami.call_id != "")
    await asyncio.sleep(0.1)
    assert ami.pressed() == []  # a prompt is playing: nothing pressed yet
    ami.ask(1, call_id="labcall-someone-else")  # another call's question
    ami.emit(Event="Newexten", Uniqueid=ami.call_id)
    await asyncio.sleep(0.05)
    assert ami.pressed() == []
    ami.ask(1)
    await until(lambda: len(ami.pressed()) == 1)
    assert ami.pressed() == [(PHONE, "1")]
    await asyncio.sleep(0.05)
    ami.ask(1)  # the same question again is not a new one
    await asyncio.sleep(0.05)
    assert len(ami.pressed()) == 1
    ami.ask(2)
    assert await task == ami.call_id
    assert ami.pressed() == [(PHONE, "1"), (PHONE, "0")]
    assert ami.actions[-1] == {"Action": "Hangup", "Channel": PHONE}
    assert lines[1:] == ["question 1: pressed 1", "question 2: pressed 0", "hung up after 0 s"]


async def test_a_call_that_ended_first_is_ended_not_an_error() -> None:
    # the IVR (or the agent) hangs up during --hangup-after: no Hangup action, no error
    ami = ScriptedAmi()
    lines: list[str] = []
    task = asyncio.create_task(simulate_call(
        ami, Settings(), LabCall("13800138000", hangup_after=30), ["1"], report=lines.append, **FAST))
    await until(lambda: ami.call_id != "")
    ami.ask(1)
    await until(lambda: len(ami.pressed()) == 1)
    ami.emit(Event="Hangup", Uniqueid=ami.call_id)
    assert await asyncio.wait_for(task, 5) == ami.call_id
    assert [a["Action"] for a in ami.actions] == ["Originate", "PlayDTMF"]
    assert lines[-1] == "the call ended before the hang-up"

    # gone between the wait and the action: Asterisk's "No such channel" is the same end
    class GoneAmi(ScriptedAmi):
        async def send_action(self, fields: Mapping[str, str | Sequence[str]]) -> Message:
            if fields["Action"] == "Hangup":
                raise AmiActionFailed(message(Response="Error", Message="No such channel"))
            return await super().send_action(fields)

    gone = GoneAmi()
    lines.clear()
    task = asyncio.create_task(simulate_call(
        gone, Settings(), LabCall("13800138000", hangup_after=0), ["1"], report=lines.append, **FAST))
    await until(lambda: gone.call_id != "")
    gone.ask(1)
    assert await asyncio.wait_for(task, 5) == gone.call_id
    assert lines[-1] == "the call ended before the hang-up"


async def test_the_originate_leaves_the_keys_and_the_hangup_to_the_command() -> None:
    ami = ScriptedAmi()
    call = LabCall("13800138000", hangup_after=5)
    task = asyncio.create_task(simulate_call(ami, Settings(), call, ["1"], **FAST))
    await until(lambda: ami.call_id != "")
    task.cancel()
    assert ami.actions[0]["Variable"] == ["LAB_DTMF=", "LAB_DTMF_DELAY=1"]
    # without keys to press, the dialplan hangs up as before
    ami = ScriptedAmi()
    await simulate_call(ami, Settings(), call, [], **FAST)
    assert ami.actions[0]["Variable"] == ["LAB_DTMF=", "LAB_DTMF_DELAY=1", "LAB_HANGUP_AFTER=5"]
    with pytest.raises(ValueError, match=r"leave LabCall\.dtmf empty"):
        await simulate_call(ami, Settings(), LabCall("13800138000", dtmf="1"), ["1"], **FAST)


async def test_an_empty_answer_lets_the_question_time_out_and_several_keys_go_together() -> None:
    ami = ScriptedAmi()
    answers = ["", "13800138000#"]
    task = asyncio.create_task(simulate_call(ami, Settings(), LabCall("13800138000"), answers, **FAST))
    await until(lambda: ami.call_id != "")
    ami.ask(1)
    await asyncio.sleep(0.05)
    assert ami.pressed() == []
    ami.ask(3)  # the IVR asked twice more (the silence was retried): the next answer goes now
    await task
    assert "".join(key for _, key in ami.pressed()) == "13800138000#"


async def test_no_question_is_a_clear_error() -> None:
    ami = ScriptedAmi()
    with pytest.raises(SimulationError, match=r"did not ask for keys within 0\.2 s"):
        await simulate_call(ami, Settings(), LabCall("13800138000"), ["1"], wait=0.2, **FAST)


async def test_a_call_that_ends_is_a_clear_error() -> None:
    ami = ScriptedAmi()
    task = asyncio.create_task(simulate_call(ami, Settings(), LabCall("13800138000"), ["1", "2"], **FAST))
    await until(lambda: ami.call_id != "")
    ami.ask(1)
    await until(lambda: len(ami.pressed()) == 1)
    ami.emit(Event="Hangup", Uniqueid=ami.call_id, Channel=IVR_SIDE)
    with pytest.raises(SimulationError, match="ended before the IVR asked question 2"):
        await task


def test_presses_are_comma_separated_answers() -> None:
    assert parse_presses("") == []
    assert parse_presses("1,0") == ["1", "0"]
    assert parse_presses("1,,13800138000#") == ["1", "", "13800138000#"]
    for bad in ("1;0", "1 w 0", "1,$(reboot)", "A"):
        with pytest.raises(ValueError, match="comma separated"):
            parse_presses(bad)


# -- caller ID --------------------------------------------------------------------


def test_a_short_name_is_quoted_with_the_number() -> None:
    assert caller_id("张伟", "13800138000") == ('"张伟" <13800138000>', False)
    assert caller_id("", "13800138000") == ("13800138000", False)


def test_a_long_name_is_cut_on_a_character_boundary_and_the_number_survives() -> None:
    for name in ("张" * 200, "a" * 300, "é" * 200, "😀" * 100, "a" + "张" * 100):
        shown, shortened = caller_id(name, "+8613800138000")
        assert shortened
        assert shown.endswith(" <+8613800138000>")
        encoded = shown.encode("utf-8")
        assert len(encoded) <= CALLER_ID_BYTES
        assert len(encoded) > CALLER_ID_BYTES - 4  # cut at most one character short
        shown.encode("utf-8").decode("utf-8")  # whole characters only
        assert name.startswith(shown[1 : shown.index('" <')])
    exact = "a" * (CALLER_ID_BYTES - len('"" <13800138000>'))
    assert caller_id(exact, "13800138000") == (f'"{exact}" <13800138000>', False)
    assert caller_id(exact + "b", "13800138000") == (f'"{exact}" <13800138000>', True)


def test_a_hostile_name_stays_one_quoted_name() -> None:
    hostile = 'x" <666>\r\nAction: Command\r\nCommand: core stop now\\"; $(reboot) `id`'
    shown, _ = caller_id(hostile, "13800138000")
    assert shown == '"x <666>Action: CommandCommand: core stop now; $(reboot) `id`" <13800138000>'
    action = originate_action(Settings(), LabCall("13800138000", hostile))
    check_fields(action)  # no CR or LF reaches the AMI
    assert action["CallerID"] == shown
    assert caller_id('"\\\r\n', "1") == ("1", False)


def test_lab_callers_speak_a_law_as_a_local_channel_or_over_the_lab_trunk() -> None:
    """Untranscoded to the agents' phones (alaw first): a Local-channel caller or one over SIP."""
    settings = Settings()
    local = originate_action(settings, LabCall("13800138000", "张伟"))
    assert (local["Channel"], local["Context"], local["Exten"]) == (
        "Local/s@lab-caller", "hotline", settings.hotline.number)
    assert local["Codecs"] == "alaw"
    trunk = originate_action(settings, LabCall("13800138000", "张伟", dtmf="1", over_sip=True))
    assert (trunk["Channel"], trunk["Context"], trunk["Exten"]) == (
        f"PJSIP/{settings.hotline.number}@lab-trunk", "lab-caller", "s")
    assert trunk["Codecs"] == "alaw" and "LAB_DTMF=1" in trunk["Variable"]
    check_fields(trunk)


async def test_talk_hangs_up_after_talking_from_the_agents_answer() -> None:
    ami = ScriptedAmi()
    watch = CallWatch(ami)
    lines: list[str] = []
    task = asyncio.create_task(talk_then_hang_up(ami, watch, "labcall-1", 0.2, report=lines.append))
    await asyncio.sleep(0.3)
    assert not task.done()  # no agent yet: the talk time has not started
    ami.emit(Event="AgentConnect", Linkedid="labcall-other")
    ami.emit(Event="AgentConnect", Linkedid="labcall-1")
    assert await task == "talked"
    assert ami.actions == [{"Action": "Hangup", "Channel": "labcall-1"}]
    assert lines == ["an agent answered: talking 0.2 s", "hung up after talking 0.2 s"]


async def test_talk_hangs_up_when_interrupted_and_not_when_the_far_end_did() -> None:
    ami = ScriptedAmi()
    watch = CallWatch(ami)
    task = asyncio.create_task(talk_then_hang_up(ami, watch, "labcall-1", 60))
    ami.emit(Event="AgentConnect", Linkedid="labcall-1")
    await asyncio.sleep(0.05)
    task.cancel()  # Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ami.actions == [{"Action": "Hangup", "Channel": "labcall-1"}]
    ended = ScriptedAmi()
    watch = CallWatch(ended)
    task = asyncio.create_task(talk_then_hang_up(ended, watch, "labcall-2", 60))
    ended.emit(Event="AgentConnect", Linkedid="labcall-2")
    ended.emit(Event="Hangup", Uniqueid="labcall-2")
    assert await task == "ended" and ended.actions == []
    unstaffed = ScriptedAmi()
    assert await talk_then_hang_up(unstaffed, CallWatch(unstaffed), "labcall-3", 60, reach=0.1) == "unanswered"
    assert unstaffed.actions == [{"Action": "Hangup", "Channel": "labcall-3"}]
