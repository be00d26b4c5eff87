"""AMI messages -> domain events."""

from __future__ import annotations

import pytest
from panoramisk.message import Message

from ctiserver.telephony.ami.translate import MemberCalls, channel_snapshots, parse_duration, to_event
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DialEnded,
    DialStarted,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)

AT = 1_795_376_035.5

CHANNEL = {
    "Channel": "Local/s@caller-00000000;1",
    "ChannelState": "6",
    "ChannelStateDesc": "Up",
    "CallerIDNum": "13262992312",
    "CallerIDName": "张伟",
    "Context": "ivr",
    "Exten": "s",
    "Priority": "3",
    "Uniqueid": "1795376035.0",
    "Linkedid": "1795376035.0",
}
AGENT = {
    "DestChannel": "Local/1001@agents-00000036;1",
    "DestUniqueid": "1795376036.108",
    "DestLinkedid": "1795376035.0",
    "Queue": "support",
    "Interface": "Local/1001@agents",
    "MemberName": "Alice",
}


def ami(event: str, **headers: str) -> Message:
    """A Message as FrameSplitter makes it, from the wire text."""
    fields = {"Event": event, "Privilege": "call,all", **CHANNEL, **headers}
    text = "\r\n".join(f"{k.replace('_', '-')}: {v}" for k, v in fields.items())
    message = Message.from_line(text)
    assert message is not None
    return message


def test_newchannel() -> None:
    event = to_event(ami("Newchannel", ChannelStateDesc="Down", CallerIDNum="<unknown>",
                         CallerIDName=""), AT)
    assert event == ChannelCreated(
        AT, "1795376035.0", "1795376035.0", "Local/s@caller-00000000;1",
        caller_number=None, caller_name=None, context="ivr", exten="s", state="Down",
    )


def test_newstate() -> None:
    event = to_event(ami("Newstate", ChannelStateDesc="Ringing"), AT)
    assert isinstance(event, ChannelStateChanged)
    assert event.state == "Ringing"


def test_newcallerid_keeps_chinese_name() -> None:
    event = to_event(ami("NewCallerid"), AT)
    assert isinstance(event, CallerIdChanged)
    assert (event.caller_number, event.caller_name) == ("13262992312", "张伟")


def test_hangup() -> None:
    event = to_event(ami("Hangup", Cause="16", Cause_txt="Normal Clearing"), AT)
    assert isinstance(event, ChannelHungUp)
    assert (event.cause, event.cause_text) == (16, "Normal Clearing")


def test_queue_caller_events() -> None:
    joined = to_event(ami("QueueCallerJoin", Queue="support", Position="2", Count="2"), AT)
    assert joined == QueueCallerJoined(
        AT, "1795376035.0", "1795376035.0", "Local/s@caller-00000000;1", "support", 2
    )
    left = to_event(ami("QueueCallerLeave", Queue="support", Position="1", Count="0"), AT)
    assert isinstance(left, QueueCallerLeft) and left.queue == "support"
    abandoned = to_event(
        ami("QueueCallerAbandon", Queue="support", Position="1", OriginalPosition="3",
            HoldTime="42"), AT
    )
    assert isinstance(abandoned, QueueCallerAbandoned)
    assert (abandoned.position, abandoned.original_position, abandoned.hold_seconds) == (1, 3, 42)


def test_queue_entry_from_queue_status_joined_wait_seconds_ago() -> None:
    message = {"Event": "QueueEntry", "ActionID": "q1", "Queue": "support", "Position": "1",
               "Channel": "PJSIP/trunk-00000007", "Uniqueid": "1795376100.7",
               "CallerIDNum": "13800138000", "CallerIDName": "王芳", "Wait": "42",
               "Priority": "5"}
    assert to_event(message, AT) == QueueCallerJoined(
        AT - 42, "1795376100.7", "1795376100.7", "PJSIP/trunk-00000007", "support", 1, 5
    )
    garbage = to_event({**message, "Wait": "soon", "Priority": ""}, AT)
    assert isinstance(garbage, QueueCallerJoined)
    assert (garbage.at, garbage.priority) == (AT, None)


def test_agent_events() -> None:
    called = to_event(ami("AgentCalled", **AGENT), AT)
    assert isinstance(called, AgentCalled)
    assert (called.queue, called.interface, called.member_name, called.dest_channel) == (
        "support", "Local/1001@agents", "Alice", "Local/1001@agents-00000036;1"
    )
    assert called.dest_uniqueid == "1795376036.108"
    assert called.uniqueid == "1795376035.0"

    connected = to_event(ami("AgentConnect", **AGENT, HoldTime="7", RingTime="2"), AT)
    assert isinstance(connected, AgentConnected)
    assert (connected.hold_seconds, connected.ring_seconds) == (7, 2)

    completed = to_event(
        ami("AgentComplete", **AGENT, HoldTime="7", TalkTime="25", Reason="caller"), AT
    )
    assert isinstance(completed, AgentCompleted)
    assert (completed.talk_seconds, completed.reason) == (25, "caller")

    no_answer = to_event(ami("AgentRingNoAnswer", **AGENT, RingTime="15"), AT)
    assert isinstance(no_answer, AgentRingNoAnswer)
    assert no_answer.ring_seconds == 15


def test_an_agent_complete_after_the_callers_channel_went_is_the_calls_by_the_members_fields() -> None:
    """A caller hung up from outside the dialplan (AMI Hangup, a SIP BYE): app_queue's
    AgentComplete comes without the caller's fields (its snapshot gone), as Asterisk 22 sent
    it in the lab; it still ends the member's part of the call (DestLinkedid)."""
    message = {
        "Event": "AgentComplete", "Privilege": "agent,all", "DestChannel": "Local/1001@lab-agents-00000001;1",
        "DestUniqueid": "1796571630.2", "DestLinkedid": "labcall-5e9f", "Queue": "support",
        "Interface": "Local/1001@lab-agents/n", "MemberName": "王小明", "HoldTime": "1", "TalkTime": "12",
        "Reason": "caller",
    }
    completed = to_event(message, AT)
    assert isinstance(completed, AgentCompleted)
    assert (completed.linkedid, completed.uniqueid, completed.channel) == ("labcall-5e9f", "", "")
    assert (completed.interface, completed.talk_seconds, completed.reason) == ("Local/1001@lab-agents/n", 12, "caller")
    assert completed.dest_channel == "Local/1001@lab-agents-00000001;1"
    # the other agent events keep needing the caller's channel, AgentComplete a member
    assert to_event({**message, "Event": "AgentConnect"}, AT) is None
    assert to_event({k: v for k, v in message.items() if k != "Interface"}, AT) is None
    bare = to_event({k: v for k, v in message.items() if not k.startswith("Dest")}, AT)
    assert isinstance(bare, AgentCompleted) and (bare.linkedid, bare.uniqueid) == ("", "")


def test_member_calls_give_a_callerless_agent_complete_its_call_back() -> None:
    """The live stream's translator remembers whose call each member took (AgentConnect):
    an AgentComplete with neither the caller's nor the member's fields is that call's."""
    translate = MemberCalls()
    connected = translate(ami("AgentConnect", **AGENT, HoldTime="7", RingTime="2"), AT)
    assert isinstance(connected, AgentConnected)
    bare = {"Event": "AgentComplete", "Queue": "support", "Interface": "Local/1001@agents",
            "MemberName": "Alice", "HoldTime": "7", "TalkTime": "25", "Reason": "caller"}
    completed = translate(bare, AT + 25)
    assert isinstance(completed, AgentCompleted)
    assert (completed.uniqueid, completed.linkedid, completed.channel) == (
        connected.uniqueid, connected.linkedid, connected.channel)
    assert completed.talk_seconds == 25
    # once completed, the member's call is forgotten: a second one stays without a call
    again = translate(bare, AT + 26)
    assert isinstance(again, AgentCompleted) and again.linkedid == ""
    # another call's AgentComplete (its DestLinkedid) is not given the remembered one
    translate(ami("AgentConnect", **AGENT), AT)
    other = translate({**bare, "DestLinkedid": "another.call"}, AT + 1)
    assert isinstance(other, AgentCompleted) and (other.linkedid, other.uniqueid) == ("another.call", "")


def test_member_name_missing_is_none() -> None:
    headers = {k: v for k, v in AGENT.items() if k != "MemberName"}
    event = to_event(ami("AgentConnect", **headers), AT)
    assert isinstance(event, AgentConnected)
    assert event.member_name is None and event.interface == "Local/1001@agents"


def test_timestamp_header_preferred() -> None:
    event = to_event(ami("Newstate", Timestamp="1795376099.123456"), AT)
    assert event is not None and event.at == pytest.approx(1795376099.123456)


@pytest.mark.parametrize("value", ["", "yesterday", "nan", "inf"])
def test_bad_timestamp_falls_back_to_received_at(value: str) -> None:
    event = to_event(ami("Newstate", Timestamp=value), AT)
    assert event is not None and event.at == AT


def test_header_names_are_case_insensitive_and_plain_dicts_work() -> None:
    message = {"Event": "Hangup", "Uniqueid": "9.1", "Linkedid": "9.0", "Cause": "17"}
    event = to_event(message, AT)
    assert isinstance(event, ChannelHungUp)
    assert (event.uniqueid, event.linkedid, event.channel, event.cause) == ("9.1", "9.0", "", 17)
    lower = Message({"event": "hangup", "uniqueid": "9.1", "cause": "17"})
    assert to_event(lower, AT) == ChannelHungUp(AT, "9.1", "9.1", "", 17, None)


def test_uninteresting_events_are_none() -> None:
    assert to_event(ami("VarSet", Variable="HOLD", Value="25"), AT) is None
    assert to_event(ami("Newexten"), AT) is None
    assert to_event({"Response": "Success"}, AT) is None
    assert to_event({}, AT) is None


@pytest.mark.parametrize(
    "message",
    [
        {"Event": "Hangup", "Cause": "16"},
        {"Event": "Hangup", "Uniqueid": "", "Cause": "16"},
        {"Event": "Newchannel", "Uniqueid": ["1.0", "1.1"]},
        {"Event": ["Hangup", "Hangup"], "Uniqueid": "1.0"},
    ],
)
def test_without_a_usable_uniqueid_is_none(message: dict) -> None:
    assert to_event(message, AT) is None


def test_garbage_fields_do_not_raise() -> None:
    event = to_event(ami("Hangup", Cause="sixteen", Cause_txt=""), AT)
    assert isinstance(event, ChannelHungUp)
    assert (event.cause, event.cause_text) == (None, None)

    bare = to_event({"Event": "QueueCallerJoin", "Uniqueid": "1.0", "Position": "x"}, AT)
    assert bare == QueueCallerJoined(AT, "1.0", "1.0", "", "", None)

    repeated = to_event({"Event": "NewCallerid", "Uniqueid": "1.0",
                         "CallerIDNum": ["1", "2"], "CallerIDName": " 李娜 "}, AT)
    assert isinstance(repeated, CallerIdChanged)
    assert (repeated.caller_number, repeated.caller_name) == (None, "李娜")

    for kind in ("AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer",
                 "QueueCallerAbandon", "Newstate", "Newchannel"):
        assert to_event({"Event": kind, "Uniqueid": "1.0", "HoldTime": "-", "RingTime": ""},
                        AT) is not None


def core_show_channel(**headers: str) -> dict[str, str]:
    return {
        "Event": "CoreShowChannel", "ActionID": "r1", "Channel": "PJSIP/100-00000001",
        "Uniqueid": "1795376100.7", "Linkedid": "1795376100.5", "Context": "agents",
        "Exten": "1001", "ChannelState": "6", "ChannelStateDesc": "Up",
        "CallerIDNum": "13800138000", "CallerIDName": "王芳", "Duration": "00:01:05",
        **headers,
    }


def test_channel_snapshots() -> None:
    items = [
        core_show_channel(),
        core_show_channel(Uniqueid="1795376100.5", Linkedid="", CallerIDNum="<unknown>",
                          Duration="100:00:01"),
        core_show_channel(Uniqueid=""),
        {"Event": "CoreShowChannelsComplete", "EventList": "Complete", "ListItems": "2"},
    ]
    first, second = channel_snapshots(items)
    assert first.uniqueid == "1795376100.7" and first.linkedid == "1795376100.5"
    assert (first.channel, first.state, first.duration) == ("PJSIP/100-00000001", "Up", 65.0)
    assert (first.caller_number, first.caller_name) == ("13800138000", "王芳")
    assert (first.context, first.exten) == ("agents", "1001")
    assert second.linkedid == "1795376100.5" and second.caller_number is None
    assert second.duration == 360001.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:00", 0.0), ("01:02:03", 3723.0), ("42", 42.0), ("", 0.0), ("aa:bb", 0.0),
     ("-5", 0.0), ("nan", 0.0), ("1:inf", 0.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_dial_begin_and_end_name_the_channel_rung() -> None:
    dest = {"DestChannel": "Local/1002@lab-agents-0000002a;1", "DestUniqueid": "1795376036.42"}
    assert to_event(ami("DialBegin", **dest, DialString="1002@lab-agents/n"), AT) == DialStarted(
        AT, "1795376035.0", "1795376035.0", "Local/s@caller-00000000;1",
        "Local/1002@lab-agents-0000002a;1", "1795376036.42",
    )
    assert to_event(ami("DialEnd", **dest, DialStatus="ANSWER"), AT) == DialEnded(
        AT, "1795376035.0", "1795376035.0", "Local/s@caller-00000000;1",
        "Local/1002@lab-agents-0000002a;1", "1795376036.42", "ANSWER",
    )


def test_an_originates_dial_without_a_calling_channel_is_not_an_event() -> None:
    message = Message.from_line(
        "Event: DialBegin\r\nDestChannel: Local/s@caller-00000000;1\r\nDestUniqueid: 1795376035.0"
    )
    assert message is not None
    assert to_event(message, AT) is None


@pytest.mark.parametrize(
    ("on_the_wire", "sent"),
    [
        ("O\\'Brien", "O'Brien"),
        ("what\\?", "what?"),
        ('张\\"伟\\"', '张"伟"'),
        ("tab\\there", "tab\there"),
        ("back\\\\slash", "back\\slash"),
        ("unknown \\q stays", "unknown \\q stays"),
        ("张伟", "张伟"),
    ],
)
def test_caller_names_are_unescaped_once_where_they_enter(on_the_wire: str, sent: str) -> None:
    """As Asterisk writes caller ids in AMI events (ast_escape_c), and as sent."""
    for kind in ("Newchannel", "NewCallerid"):
        event = to_event(ami(kind, CallerIDName=on_the_wire), AT)
        assert isinstance(event, ChannelCreated | CallerIdChanged)
        assert event.caller_name == sent
