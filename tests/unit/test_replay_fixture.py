"""Replay the recorded Asterisk 22 stream (200 queue calls) through the AMI layer.

bytes -> FrameSplitter -> translate.to_event -> CallTracker, with a fake clock
that advances 1 ms per message (the recording has no Timestamp headers).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator

import pytest
from panoramisk.message import Message

from ctiserver.calls.model import Call, CallTracker, CallUpdate
from ctiserver.telephony.ami.framing import FrameSplitter
from ctiserver.telephony.ami.translate import to_event

T0 = 1_795_376_035.0
CALLS = 200


@pytest.fixture(scope="module")
def raw(recorded_ami_stream: bytes) -> bytes:
    return recorded_ami_stream


def fixed_chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def tiny_chunks(data: bytes, seed: int = 7) -> Iterator[bytes]:
    """1 to 3 bytes at a time: every multi-byte UTF-8 character gets split somewhere."""
    rng = random.Random(seed)
    start = 0
    while start < len(data):
        size = rng.randint(1, 3)
        yield data[start : start + size]
        start += size


def split(chunks: Iterable[bytes]) -> tuple[list[Message], FrameSplitter]:
    splitter = FrameSplitter()
    messages = [m for chunk in chunks for m in splitter.feed(chunk)]
    return messages, splitter


class Replay:
    def __init__(self) -> None:
        self.now = T0
        self.tracker = CallTracker(clock=lambda: self.now)
        self.updates: list[CallUpdate] = []
        self.tracker.subscribe(self.updates.append)

    def feed(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.now += 0.001
            event = to_event(message, received_at=self.now)
            if event is not None:
                self.tracker.handle(event)

    def calls(self, kind: str) -> list[Call]:
        return [u.call for u in self.updates if u.kind == kind]


def non_ascii_caller_names(data: bytes) -> set[str]:
    names = re.findall(rb"\r\nCallerIDName: ([^\r]*)\r\n", data)
    return {n.decode("utf-8") for n in names if not n.isascii()}


@pytest.fixture(scope="module")
def replayed(raw: bytes) -> Callable[[int], Replay]:
    """The whole stream replayed in reads of a given size (each size done once)."""
    done: dict[int, Replay] = {}

    def replay_in(chunk_size: int) -> Replay:
        if chunk_size not in done:
            messages, splitter = split(fixed_chunks(raw, chunk_size))
            assert len(messages) == 20_073  # the Login response + 20,072 events
            assert splitter.rejected == []
            done[chunk_size] = Replay()
            done[chunk_size].feed(messages)
        return done[chunk_size]

    return replay_in


@pytest.mark.parametrize("chunk_size", [1500, 4096])
def test_every_call_is_tracked_from_start_to_end(
    replayed: Callable[[int], Replay], chunk_size: int
) -> None:
    replay = replayed(chunk_size)
    assert sum(u.kind == "ended" for u in replay.updates) == CALLS
    started, ended = replay.calls("started"), replay.calls("ended")
    assert len(started) == CALLS and len(ended) == CALLS
    assert len({c.linkedid for c in ended}) == CALLS
    assert {c.linkedid for c in started} == {c.linkedid for c in ended}
    assert replay.tracker.active_calls() == []
    for call in ended:
        assert call.queue == "support", call.linkedid
        assert call.agent and re.fullmatch(r"Local/1\d{3}@agents", call.agent), call.linkedid
        assert call.answered_at is not None and call.ended_at is not None
        assert call.answered_at >= call.started_at, call.linkedid
        assert call.ended_at > call.answered_at, call.linkedid
        assert call.caller_number is not None and re.fullmatch(r"\d{11}", call.caller_number)
        assert call.caller_name, call.linkedid
        assert (call.hangup_cause, call.hangup_cause_text) == (16, "Normal Clearing")
        assert len(call.legs) == 4, call.linkedid
        assert list(call.legs)[0] == call.linkedid
        assert call.legs[call.linkedid].channel.startswith("Local/s@caller-")
        assert sum("@agents-" in leg.channel for leg in call.legs.values()) == 2
        record = call.to_dict(now=replay.now)
        assert record["state"] == "ended" and record["duration"] > 0


def test_chinese_caller_names_arrive_intact(
    raw: bytes, replayed: Callable[[int], Replay]
) -> None:
    expected = non_ascii_caller_names(raw)
    assert {"张伟", "刘洋", "欧阳娜娜", "帅康客户"} <= expected
    replay = replayed(4096)
    names = {c.caller_name for c in replay.calls("ended")}
    assert expected <= names
    assert not any("\ufffd" in (name or "") for name in names)


def test_byte_by_byte_slice_matches_big_chunks(raw: bytes) -> None:
    """A 300 KB slice fed 1-3 bytes at a time parses exactly as in 4 KB reads."""
    piece = raw[:300_000]
    expected_names = non_ascii_caller_names(piece)
    assert len(expected_names) >= 5

    small, _ = split(tiny_chunks(piece))
    big, _ = split(fixed_chunks(piece, 4096))
    assert len(small) > 500
    assert [dict(m.items()) for m in small] == [dict(m.items()) for m in big]
    assert not any("\ufffd" in value for m in small for value in m.values())

    replay = Replay()
    replay.feed(small)
    calls = replay.tracker.active_calls() + replay.calls("ended")
    assert expected_names <= {c.caller_name for c in calls}
