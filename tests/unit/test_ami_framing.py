"""FrameSplitter: whole frames decoded once, whatever the TCP chunking."""

from __future__ import annotations

import random

import pytest

from ctiserver.telephony.ami.framing import FrameSplitter

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
NAME_EVENT = (
    "Event: NewCallerid\r\nPrivilege: call,all\r\nChannel: Local/s@caller-00000001;1\r\n"
    "CallerIDNum: 13588220482\r\nCallerIDName: 刘洋\r\n\r\n"
).encode()


@pytest.fixture(scope="module")
def recorded(recorded_ami_stream: bytes) -> bytes:
    return recorded_ami_stream


def test_chinese_name_split_across_reads_arrives_intact() -> None:
    splitter = FrameSplitter()
    messages = []
    for i in range(len(GREETING + NAME_EVENT)):
        messages += splitter.feed((GREETING + NAME_EVENT)[i : i + 1])
    assert splitter.greeting == "11.0.0"
    assert [m["CallerIDName"] for m in messages] == ["刘洋"]
    assert splitter.rejected == []


def test_non_utf8_and_garbage_crash_nothing() -> None:
    splitter = FrameSplitter()
    data = (
        GREETING
        + b"\x00\xff garbage without headers\r\n\r\n"
        + b"Event: VarSet\r\nVariable: NAME\r\nValue: \xe5\x88 \xff\xfe\r\n\r\n"
        + NAME_EVENT
    )
    messages = splitter.feed(data)
    assert [m.event for m in messages] == ["VarSet", "NewCallerid"]
    assert "\ufffd" in messages[0]["Value"]
    assert messages[1]["CallerIDName"] == "刘洋"
    assert len(splitter.rejected) == 1 and "garbage" in splitter.rejected[0]


def test_recorded_stream_gives_every_event(recorded: bytes) -> None:
    whole = FrameSplitter().feed(recorded)
    splitter = FrameSplitter()
    rng = random.Random(20072)
    chunked = []
    pos = 0
    while pos < len(recorded):
        size = rng.choice((1, 2, 3, 7, 100, 1461, 4096, 65536))
        chunked += splitter.feed(recorded[pos : pos + size])
        pos += size
    events = [m for m in chunked if "event" in m]
    assert splitter.greeting == "11.0.0"
    assert len(events) == 20072
    assert splitter.rejected == []
    assert chunked[0].response == "Success" and events[0].event == "FullyBooted"
    names = [m["CallerIDName"] for m in chunked if "CallerIDName" in m]
    assert names == [m["CallerIDName"] for m in whole if "CallerIDName" in m]
    assert "刘洋" in names and not any("\ufffd" in n for n in names)


def test_messages_are_what_panoramisk_would_make() -> None:
    """parse_message builds panoramisk's Message without its per-key cost, to the same result."""
    from panoramisk.message import Message

    from ctiserver.telephony.ami.framing import parse_message

    frames = [
        "Event: Newchannel\r\nChannel: PJSIP/1001-00000001\r\nCallerIDName: 张伟\r\nUniqueid: 1.1\r\nLinkedid: 1.1",
        "Response: Success\r\nActionID: 7\r\nResult: %22quoted%22 ",
        "Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nchanvariable: c=3",
        "Response: Follows\r\nActionID: 2\r\nthe body",
        "Response: Error\r\nMessage: Permission denied",
        "Garbage: no event\r\nnor response",
        "Event: UserEvent\r\nUserEvent: CtiIvrListening\r\nno colon line\r\nCallId: x",
    ]
    for frame in frames:
        ours, theirs = parse_message(frame), Message.from_line(frame)
        assert (ours is None) == (theirs is None), frame
        if ours is not None:
            assert ours._store == theirs._store and ours.manager is None, frame
            assert ours.get("event") == theirs.get("event") and ours.success == theirs.success
