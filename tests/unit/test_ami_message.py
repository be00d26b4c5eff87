"""AmiMessage, parsed on first use, behaves as panoramisk's Message of the same text.

The speed of the AMI pipeline (bench/nodes.py) comes from not parsing what nobody reads;
these tests hold that nothing anyone reads changed: every header, membership test,
action id, iteration, and the domain events translated, for the whole recorded stream and
for frames made to trip the shortcut (a second Event header, an ActionID, odd casing,
repeated names, lines without a colon).
"""

from __future__ import annotations

import pytest
from panoramisk.message import Message

from ctiserver.telephony.ami.framing import FrameSplitter
from ctiserver.telephony.ami.message import AmiMessage, lowered_headers, parse_message
from ctiserver.telephony.ami.translate import to_event

ODD_FRAMES = [
    "Event: Newchannel\r\nChannel: PJSIP/1001-00000001\r\nUniqueid: 1.1\r\nLinkedid: 1.1",
    "Event: Hangup\r\nUniqueid: 1.2\r\nEVENT: Newstate\r\nChannelStateDesc: Up",
    "Event: Hangup\r\nUniqueid: 1.2\r\nevent: Newstate",
    "Event: QueueMember\r\nActionID: 42\r\nQueue: support\r\nLocation: Local/1001@agents",
    "Event: QueueMember\r\nactionid: 42\r\nQueue: support\r\nLocation: Local/1001@agents",
    "Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nchanvariable: c=3",
    "Event: VarSet\r\nChanVariable: A=1\r\nchanvariable: c=3\r\nChanVariable: B=2",
    "Event: Newstate\r\nUNIQUEID: 1.3\r\nlinkedID: 1.0\r\nchannelstatedesc: Ringing",
    "Event: UserEvent\r\nUserEvent: CtiIvrListening\r\nno colon line\r\nCallId: x",
    "Event: Hangup\r\nUniqueid: 1.4\r\nResult: %22quoted%22 \r\nContent: kept?",
    "Event: Newexten\r\nAppData: Set(a: b)\r\nUniqueid: 1.5",
    "Event: AgentCalled\r\nUniqueid: 1.6\r\nQueue: support\r\nInterface: Local/1001@agents\r\n"
    "MemberName: 王小明\r\nDestChannel: Local/1001@agents-1;1\r\nDestUniqueid: 1.7",
    "Event: Cdr\r\nUniqueid: 1.8\r\nSource: x\r\n event: not a second Event",
    "Event: ",
    "Event: Hangup",
    "Response: Success\r\nActionID: 7\r\nResult: %22quoted%22 ",
    "Response: Error\r\nMessage: Permission denied",
    "Response: Follows\r\nActionID: 2\r\nthe body",
    "Garbage: no event\r\nnor response",
    "event: lower-case only\r\nUniqueid: 1.9",
]


def same(ours: Message, theirs: Message) -> None:
    """Everything the server and panoramisk read of a message, asked in every spelling."""
    names = set(theirs) | {"Event", "event", "EVENT", "ActionID", "actionid", "Nope"}
    for name in sorted(names):
        for spelled in (name, name.lower(), name.upper()):
            assert ours.get(spelled) == theirs.get(spelled), spelled
            assert ours.get(spelled, "dflt") == theirs.get(spelled, "dflt"), spelled
            assert (spelled in ours) == (spelled in theirs), spelled
            assert getattr(ours, spelled) == getattr(theirs, spelled), spelled
    assert ours.action_id == theirs.action_id and ours.id == theirs.id
    assert ours.event == theirs.event and ours.success == theirs.success
    assert ours.manager is None


@pytest.mark.parametrize("frame", ODD_FRAMES)
def test_odd_frames_read_as_panoramisk_reads_them(frame: str) -> None:
    ours, theirs = parse_message(frame), Message.from_line(frame)
    assert (ours is None) == (theirs is None)
    if ours is None or theirs is None:
        return
    same(ours, theirs)
    assert to_event(ours, 5.0) == to_event(theirs, 5.0)
    assert dict(lowered_headers(ours)) == {key.lower(): value for key, value in theirs.items()}
    # iteration and repr keep the names as spelled, after everything above
    assert ours._store == theirs._store and repr(ours) == repr(theirs)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_the_name_of_an_event_is_read_without_parsing_it() -> None:
    message = parse_message("Event: VarSet\r\nChannel: Local/s@caller-1;1\r\nValue: x")
    assert isinstance(message, AmiMessage)
    assert message.get("Event") == "VarSet" and "event" in message and message.action_id is None
    assert to_event(message, 1.0) is None
    assert "_lowered" not in vars(message) and "_store" not in vars(message)
    assert message["Value"] == "x"  # parsed now
    assert "_lowered" in vars(message)


def test_a_header_set_later_is_read_everywhere() -> None:
    message = parse_message("Event: Newstate\r\nUniqueid: 1.1\r\nChannelStateDesc: Ring")
    assert message is not None
    message["Event"] = "Hangup"
    assert message.get("event") == "Hangup" and message["EVENT"] == "Hangup"
    assert dict(message.items())["Event"] == "Hangup"


def test_the_recorded_stream_reads_as_panoramisk_reads_it(recorded_ami_stream: bytes) -> None:
    """All 20,073 frames: the same headers, membership and domain events."""
    messages = FrameSplitter().feed(recorded_ami_stream)
    assert len(messages) == 20073
    texts = recorded_ami_stream.decode("utf-8", "replace").split("\r\n\r\n")
    theirs_all = [Message.from_line(t.split("\r\n", 1)[1] if t.startswith("Asterisk") else t)
                  for t in texts if t.strip("\r\n")]
    assert len(theirs_all) == len(messages)
    events = 0
    for ours, theirs in zip(messages, theirs_all, strict=True):
        assert theirs is not None
        event = to_event(ours, 9.0)
        assert event == to_event(theirs, 9.0)
        events += event is not None
        assert ours.action_id == theirs.action_id and ("event" in ours) == ("event" in theirs)
        assert ours.get("Event") == theirs.get("Event")
        assert dict(ours.items()) == dict(theirs.items())
    assert events == 5000
