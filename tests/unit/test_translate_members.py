"""AMI queue member, QueueStatus and AgentDump messages -> domain events."""

from __future__ import annotations

import pytest
from panoramisk.message import Message

from ctiserver.telephony.ami.translate import queue_status_items, to_event
from ctiserver.telephony.events import (
    AgentDumped,
    DeviceStatus,
    QueueMemberAdded,
    QueueMemberListed,
    QueueMemberPauseChanged,
    QueueMemberRemoved,
    QueueMemberStatusChanged,
    QueueParamsListed,
)

AT = 1_795_376_035.5

#: as Asterisk 22.10 sends it (from the recorded stream), with a pause
MEMBER = {
    "Privilege": "agent,all",
    "Queue": "support",
    "MemberName": "Alice",
    "Interface": "Local/1001@agents",
    "StateInterface": "PJSIP/1001",
    "Membership": "dynamic",
    "Penalty": "2",
    "CallsTaken": "7",
    "LastCall": "1795376061",
    "LastPause": "1795376000",
    "LoginTime": "1795376028",
    "InCall": "0",
    "Status": "1",
    "Paused": "1",
    "PausedReason": "lunch",
    "Ringinuse": "0",
    "Wrapuptime": "15",
}

EXPECTED_FIELDS = {
    "queue": "support",
    "interface": "Local/1001@agents",
    "member_name": "Alice",
    "state_interface": "PJSIP/1001",
    "membership": "dynamic",
    "penalty": 2,
    "calls_taken": 7,
    "last_call": 1795376061.0,
    "last_pause": 1795376000.0,
    "login_time": 1795376028.0,
    "in_call": False,
    "status": DeviceStatus.NOT_INUSE,
    "paused": True,
    "paused_reason": "lunch",
    "wrapup_seconds": 15,
}


def ami(event: str, fields: dict[str, str]) -> Message:
    text = "\r\n".join(f"{k}: {v}" for k, v in {"Event": event, **fields}.items())
    message = Message.from_line(text)
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("QueueMemberAdded", QueueMemberAdded),
        ("QueueMemberRemoved", QueueMemberRemoved),
        ("QueueMemberPause", QueueMemberPauseChanged),
        ("QueueMemberStatus", QueueMemberStatusChanged),
    ],
)
def test_member_events(name: str, cls: type) -> None:
    event = to_event(ami(name, MEMBER), AT)
    assert type(event) is cls
    assert event == cls(AT, **EXPECTED_FIELDS)


def test_the_recorded_member_status() -> None:
    recorded = {**MEMBER, "MemberName": "Local/1001@agents",
                "StateInterface": "Local/1001@agents", "Membership": "static", "Penalty": "0",
                "CallsTaken": "0", "LastCall": "0", "LastPause": "0", "Status": "2",
                "Paused": "0", "PausedReason": "", "Wrapuptime": "0"}
    event = to_event(ami("QueueMemberStatus", recorded), AT)
    assert isinstance(event, QueueMemberStatusChanged)
    assert (event.last_call, event.last_pause, event.paused_reason) == (None, None, None)
    assert (event.status, event.paused, event.in_call) == (DeviceStatus.INUSE, False, False)
    assert event.wrapup_seconds == 0


def test_pause_reason_of_older_asterisk() -> None:
    fields = {k: v for k, v in MEMBER.items() if k != "PausedReason"}
    event = to_event(ami("QueueMemberPause", {**fields, "Reason": "training"}), AT)
    assert isinstance(event, QueueMemberPauseChanged) and event.paused_reason == "training"


def test_timestamp_header_preferred() -> None:
    event = to_event(ami("QueueMemberPause", {**MEMBER, "Timestamp": "1795376099.25"}), AT)
    assert event is not None and event.at == 1795376099.25


def test_queue_status_items() -> None:
    listing = [
        {"Event": "QueueParams", "ActionID": "q1", "Queue": "support", "Max": "0",
         "Strategy": "rrmemory", "Calls": "1", "Holdtime": "12", "TalkTime": "95",
         "Completed": "40", "Abandoned": "3", "ServiceLevel": "20",
         "ServicelevelPerf": "87.5", "ServicelevelPerf2": "80.0", "Weight": "0"},
        {"Event": "QueueMember", "ActionID": "q1", "Queue": "support", "Name": "Alice",
         "Location": "Local/1001@agents", "StateInterface": "PJSIP/1001",
         "Membership": "dynamic", "Penalty": "2", "CallsTaken": "7", "LastCall": "1795376061",
         "LastPause": "1795376000", "LoginTime": "1795376028", "InCall": "0", "Status": "1",
         "Paused": "1", "PausedReason": "lunch", "Wrapuptime": "15"},
        {"Event": "QueueEntry", "ActionID": "q1", "Queue": "support", "Uniqueid": "1.0",
         "Wait": "3"},
        {"Event": "QueueMember", "Queue": "support", "Location": ""},
        {"Event": "QueueStatusComplete", "EventList": "Complete", "ListItems": "3"},
    ]
    params, member = queue_status_items(listing, AT)
    assert params == QueueParamsListed(
        AT, "support", strategy="rrmemory", max_callers=0, calls=1, holdtime=12, talktime=95,
        completed=40, abandoned=3, service_level=20, service_level_perf=87.5, weight=0,
    )
    assert member == QueueMemberListed(AT, **EXPECTED_FIELDS)
    assert to_event(listing[1], AT) == member
    assert to_event(listing[0], AT) == params


def test_agent_dump() -> None:
    message = {"Event": "AgentDump", "Uniqueid": "1.0", "Linkedid": "0.9",
               "Channel": "PJSIP/trunk-1", "Queue": "support", "Interface": "PJSIP/1001",
               "MemberName": "Alice", "DestChannel": "PJSIP/1001-0002", "DestUniqueid": "1.2"}
    assert to_event(message, AT) == AgentDumped(
        AT, "1.0", "0.9", "PJSIP/trunk-1", "support", "PJSIP/1001", "Alice",
        "PJSIP/1001-0002", "1.2",
    )


@pytest.mark.parametrize(
    "message",
    [
        {"Event": "QueueMemberStatus", "Interface": "PJSIP/1001"},
        {"Event": "QueueMemberStatus", "Queue": "support"},
        {"Event": "QueueMemberAdded", "Queue": "", "Interface": "PJSIP/1001"},
        {"Event": "QueueMemberPause", "Queue": ["a", "b"], "Interface": "PJSIP/1001"},
        {"Event": "QueueMember", "Queue": "support", "Interface": "PJSIP/1001"},
        {"Event": "QueueParams"},
        {"Event": "AgentDump", "Queue": "support"},
    ],
)
def test_without_queue_or_interface_is_none(message: dict) -> None:
    assert to_event(message, AT) is None


@pytest.mark.parametrize(
    "name",
    ["QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus",
     "QueueMember", "QueueParams", "AgentDump"],
)
def test_garbage_fields_do_not_raise(name: str) -> None:
    garbage = {
        "Queue": "support", "Interface": "PJSIP/1001", "Location": "PJSIP/1001",
        "Uniqueid": "1.0", "Penalty": "high", "CallsTaken": "-", "LastCall": "yesterday",
        "LastPause": "nan", "LoginTime": "inf", "InCall": "maybe", "Status": "42",
        "Paused": "", "PausedReason": ["a", "b"], "Wrapuptime": "1.5", "Max": "x",
        "ServicelevelPerf": "nan", "Weight": "", "Timestamp": "soon",
    }
    event = to_event({"Event": name, **garbage}, AT)
    assert event is not None and event.at == AT
    if name == "QueueParams":
        assert isinstance(event, QueueParamsListed)
        assert (event.max_callers, event.service_level_perf, event.weight) == (None, None, None)
    elif name != "AgentDump":
        assert not isinstance(event, QueueParamsListed | AgentDumped)
        assert (event.penalty, event.calls_taken, event.last_call, event.last_pause) == (
            None, None, None, None
        )
        assert (event.login_time, event.in_call, event.status, event.paused) == (
            None, None, None, None
        )
        assert (event.paused_reason, event.wrapup_seconds) == (None, None)


@pytest.mark.parametrize(("raw", "status"), [("0", DeviceStatus.UNKNOWN),
                                              ("5", DeviceStatus.UNAVAILABLE),
                                              ("8", DeviceStatus.ONHOLD), ("9", None),
                                              ("-1", None), ("", None)])
def test_device_status(raw: str, status: DeviceStatus | None) -> None:
    event = to_event({"Event": "QueueMemberStatus", "Queue": "q", "Interface": "i",
                      "Status": raw}, AT)
    assert isinstance(event, QueueMemberStatusChanged) and event.status == status
