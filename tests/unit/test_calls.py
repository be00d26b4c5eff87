"""The call state machine, driven by hand-built domain events."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest

from ctiserver.calls.model import LOST_DURING_OUTAGE, CallState, CallTracker, CallUpdate
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    ChannelSnapshot,
    ChannelStateChanged,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
)

T0 = 1_795_376_035.0
CALL = "1795376035.0"
CALLER_1, CALLER_2, AGENT_1, AGENT_2 = CALL, "1795376035.1", "1795376036.8", "1795376036.9"
CHANNELS = {
    CALLER_1: "Local/s@caller-00000000;1",
    CALLER_2: "Local/s@caller-00000000;2",
    AGENT_1: "Local/1001@agents-00000036;1",
    AGENT_2: "Local/1001@agents-00000036;2",
}


@dataclass
class FakeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


def created(uid: str, at: float, linkedid: str = CALL, state: str = "Down",
            number: str | None = None, name: str | None = None) -> ChannelCreated:
    return ChannelCreated(at, uid, linkedid, CHANNELS.get(uid, f"PJSIP/{uid}"),
                          number, name, "ivr", "s", state)


def hangup(uid: str, at: float, cause: int | None = 16, text: str | None = "Normal Clearing",
           linkedid: str = CALL) -> ChannelHungUp:
    return ChannelHungUp(at, uid, linkedid, CHANNELS.get(uid, ""), cause, text)


def agent_connected(at: float, member: str | None = "Alice") -> AgentConnected:
    return AgentConnected(at, CALLER_1, CALL, CHANNELS[CALLER_1], "support",
                          "Local/1001@agents", member, CHANNELS[AGENT_1], AGENT_1, 0, 1)


class Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[str, str]] = []
        self.snapshots: list[dict] = []

    def __call__(self, update: CallUpdate) -> None:
        self.updates.append((update.kind, update.call.linkedid))
        self.snapshots.append(update.call.to_dict(update.call.ended_at or T0))

    def kinds(self, kind: str) -> list[str]:
        return [linkedid for k, linkedid in self.updates if k == kind]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker(clock: FakeClock) -> CallTracker:
    return CallTracker(clock)


@pytest.fixture
def recorder(tracker: CallTracker) -> Recorder:
    recorder = Recorder()
    tracker.subscribe(recorder)
    return recorder


def play_queue_call(tracker: CallTracker) -> None:
    """The fixture's shape: caller Local pair, IVR, queue, agent Local pair."""
    tracker.handle(created(CALLER_1, T0))
    tracker.handle(created(CALLER_2, T0 + 0.01, state="Ring"))
    tracker.handle(CallerIdChanged(T0 + 0.02, CALLER_1, CALL, CHANNELS[CALLER_1],
                                   "13262992312", "张伟"))
    tracker.handle(CallerIdChanged(T0 + 0.02, CALLER_2, CALL, CHANNELS[CALLER_2],
                                   "13262992312", "张伟"))
    tracker.handle(ChannelStateChanged(T0 + 0.1, CALLER_2, CALL, CHANNELS[CALLER_2], "Up"))
    tracker.handle(ChannelStateChanged(T0 + 0.1, CALLER_1, CALL, CHANNELS[CALLER_1], "Up"))
    tracker.handle(QueueCallerJoined(T0 + 2.0, CALLER_1, CALL, CHANNELS[CALLER_1], "support", 1))
    tracker.handle(created(AGENT_1, T0 + 2.5))
    tracker.handle(created(AGENT_2, T0 + 2.5, state="Ring"))
    tracker.handle(AgentCalled(T0 + 2.5, CALLER_1, CALL, CHANNELS[CALLER_1], "support",
                               "Local/1001@agents", "Alice", CHANNELS[AGENT_1], AGENT_1))
    tracker.handle(ChannelStateChanged(T0 + 3.0, AGENT_1, CALL, CHANNELS[AGENT_1], "Up"))
    tracker.handle(QueueCallerLeft(T0 + 3.0, CALLER_1, CALL, CHANNELS[CALLER_1], "support"))
    tracker.handle(agent_connected(T0 + 3.0))


def hang_up_all(tracker: CallTracker, at: float) -> None:
    tracker.handle(hangup(CALLER_2, at))
    tracker.handle(AgentCompleted(at, CALLER_1, CALL, CHANNELS[CALLER_1], "support",
                                  "Local/1001@agents", "Alice", CHANNELS[AGENT_1], AGENT_1,
                                  1, 17, "caller"))
    tracker.handle(hangup(AGENT_1, at + 0.01))
    tracker.handle(hangup(CALLER_1, at + 0.02))
    tracker.handle(hangup(AGENT_2, at + 0.03))


def test_queue_call_from_start_to_end(tracker: CallTracker, recorder: Recorder) -> None:
    play_queue_call(tracker)
    call = tracker.get(CALL)
    assert call is not None and call.state is CallState.ACTIVE
    assert recorder.kinds("started") == [CALL]
    assert (call.caller_number, call.caller_name) == ("13262992312", "张伟")
    assert (call.queue, call.agent) == ("support", "Alice")
    assert call.started_at == T0 and call.queue_joined_at == T0 + 2.0
    assert call.answered_at == T0 + 3.0
    assert list(call.legs) == [CALLER_1, CALLER_2, AGENT_1, AGENT_2]
    assert call.legs[CALLER_1].answered_at == T0 + 0.1
    assert call.duration(T0 + 10) == 10.0
    assert call.wait_seconds == pytest.approx(1.0)
    assert tracker.active_calls() == [call]

    hang_up_all(tracker, T0 + 20.0)
    assert recorder.kinds("ended") == [CALL]
    assert call.state is CallState.ENDED and call.ended_at == pytest.approx(T0 + 20.03)
    assert (call.hangup_cause, call.hangup_cause_text) == (16, "Normal Clearing")
    assert tracker.active_calls() == [] and tracker.get(CALL) is None
    ended = recorder.snapshots[-1]
    assert ended["state"] == "ended" and ended["duration"] == 20.03
    assert ended["ended_at"] == "2026-11-22T19:34:15.030+00:00"


def test_call_ends_with_its_last_leg_and_takes_the_callers_cause(
    tracker: CallTracker, recorder: Recorder
) -> None:
    play_queue_call(tracker)
    tracker.handle(hangup(CALLER_1, T0 + 9, cause=17, text="User busy"))
    tracker.handle(hangup(CALLER_2, T0 + 9))
    tracker.handle(hangup(AGENT_1, T0 + 9))
    assert recorder.kinds("ended") == []
    tracker.handle(hangup(AGENT_2, T0 + 12, cause=127, text="Interworking"))
    assert recorder.kinds("ended") == [CALL]
    ended = recorder.snapshots[-1]
    assert (ended["hangup_cause"], ended["hangup_cause_text"]) == (17, "User busy")
    assert ended["duration"] == 12.0


def test_unanswered_call_waits_until_it_leaves_the_queue(
    tracker: CallTracker, recorder: Recorder
) -> None:
    tracker.handle(created(CALLER_1, T0, number="13800138000"))
    tracker.handle(QueueCallerJoined(T0 + 1, CALLER_1, CALL, "", "support", 1))
    call = tracker.get(CALL)
    assert call is not None and call.wait_seconds is None
    assert call.waited(T0 + 4) == 3.0 and call.to_dict(T0 + 4)["wait_seconds"] == 3.0
    tracker.handle(QueueCallerAbandoned(T0 + 6, CALLER_1, CALL, "", "support", 1, 1, 5))
    tracker.handle(QueueCallerLeft(T0 + 6.001, CALLER_1, CALL, "", "support"))
    tracker.handle(hangup(CALLER_1, T0 + 6.01))
    assert recorder.kinds("ended") == [CALL]
    ended = recorder.snapshots[-1]
    assert ended["answered_at"] is None and ended["agent"] is None
    assert ended["wait_seconds"] == 5.0 and ended["queue"] == "support"
    assert call.wait_seconds == 5.0


def test_caller_id_comes_from_the_first_leg_only(tracker: CallTracker) -> None:
    tracker.handle(created(CALLER_1, T0, number="13262992312", name="Zhang Wei"))
    tracker.handle(created(AGENT_1, T0 + 1))
    tracker.handle(CallerIdChanged(T0 + 2, AGENT_1, CALL, "", "1001", "Alice"))
    tracker.handle(CallerIdChanged(T0 + 2, CALLER_1, CALL, "", None, None))
    call = tracker.get(CALL)
    assert call is not None
    assert (call.caller_number, call.caller_name) == ("13262992312", "Zhang Wei")
    assert call.legs[AGENT_1].caller_name == "Alice"
    tracker.handle(CallerIdChanged(T0 + 3, CALLER_1, CALL, "", None, "张伟"))
    assert (call.caller_number, call.caller_name) == ("13262992312", "张伟")


def test_originating_leg_arriving_late_is_still_the_caller(tracker: CallTracker) -> None:
    tracker.handle(created(CALLER_2, T0, number="1001"))
    tracker.handle(created(CALLER_1, T0 + 0.5, number="13262992312"))
    call = tracker.get(CALL)
    assert call is not None and list(call.legs) == [CALLER_1, CALLER_2]
    assert call.caller_number == "13262992312" and call.started_at == T0


def test_listener_that_raises_is_logged_and_others_still_run(
    tracker: CallTracker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(update: CallUpdate) -> None:
        raise RuntimeError("boom")

    before, after = Recorder(), Recorder()
    tracker.subscribe(before)
    tracker.subscribe(broken)
    unsubscribe = tracker.subscribe(after)
    with caplog.at_level(logging.ERROR, logger="ctiserver.calls.model"):
        tracker.handle(created(CALLER_1, T0))
    assert before.kinds("started") == after.kinds("started") == [CALL]
    assert "boom" in caplog.text and CALL in caplog.text

    unsubscribe()
    unsubscribe()
    tracker.handle(hangup(CALLER_1, T0 + 1))
    assert before.kinds("ended") == [CALL] and after.kinds("ended") == []


def test_events_for_unknown_legs_and_calls_are_ignored(
    tracker: CallTracker, recorder: Recorder
) -> None:
    tracker.handle(hangup("404.1", T0, linkedid="404.0"))
    tracker.handle(ChannelStateChanged(T0, "404.1", "404.0", "", "Up"))
    tracker.handle(CallerIdChanged(T0, "404.1", "404.0", "", "1", "x"))
    tracker.handle(QueueCallerJoined(T0, "404.1", "404.0", "", "support", 1))
    tracker.handle(QueueCallerLeft(T0, "404.1", "404.0", "", "support"))
    tracker.handle(agent_connected(T0))
    tracker.handle(object())
    assert recorder.updates == [] and tracker.active_calls() == []


def test_repeated_events_are_idempotent(tracker: CallTracker, recorder: Recorder) -> None:
    play_queue_call(tracker)
    count = len(recorder.updates)
    tracker.handle(created(CALLER_1, T0 + 5))
    tracker.handle(ChannelStateChanged(T0 + 5, CALLER_1, CALL, "", "Up"))
    tracker.handle(CallerIdChanged(T0 + 5, CALLER_1, CALL, "", "13262992312", "张伟"))
    assert len(recorder.updates) == count
    call = tracker.get(CALL)
    assert call is not None and call.legs[CALLER_1].created_at == T0

    tracker.handle(hangup(CALLER_2, T0 + 6))
    tracker.handle(hangup(CALLER_2, T0 + 7, cause=1, text="other"))
    assert call.legs[CALLER_2].ended_at == T0 + 6
    assert call.legs[CALLER_2].hangup_cause == 16

    hang_up_all(tracker, T0 + 20)
    hang_up_all(tracker, T0 + 21)
    assert recorder.kinds("ended") == [CALL]


def test_late_events_do_not_resurrect_an_ended_call(
    tracker: CallTracker, recorder: Recorder, clock: FakeClock
) -> None:
    tracker.handle(created(CALLER_1, T0))
    tracker.handle(hangup(CALLER_1, T0 + 1))
    tracker.handle(created(AGENT_1, T0 + 1.5))
    tracker.handle(hangup(AGENT_1, T0 + 2))
    assert recorder.kinds("started") == [CALL] and recorder.kinds("ended") == [CALL]
    assert tracker.active_calls() == []

    clock.now += 7200
    tracker.handle(created("later.1", clock.now, linkedid="later.1"))
    tracker.handle(created(CALLER_1, clock.now))
    assert recorder.kinds("started") == [CALL, "later.1", CALL]


def test_resync_ends_calls_lost_during_an_outage(
    tracker: CallTracker, recorder: Recorder
) -> None:
    play_queue_call(tracker)
    tracker.handle(created("other.0", T0 + 1, linkedid="other.0", number="13900000000"))
    other = tracker.get("other.0")
    still_up = ChannelSnapshot("other.0", "other.0", "PJSIP/x-1", "13900000000", None, "Up", 59)

    tracker.resync([still_up], at=T0 + 60)
    assert recorder.kinds("ended") == [CALL]
    ended = recorder.snapshots[recorder.updates.index(("ended", CALL))]
    assert ended["ended_at"] == "2026-11-22T19:34:55.000+00:00"
    assert ended["hangup_cause"] is None
    assert ended["hangup_cause_text"] == LOST_DURING_OUTAGE
    assert all(leg["hangup_cause_text"] == LOST_DURING_OUTAGE for leg in ended["legs"])
    assert tracker.active_calls() == [other]
    assert other is not None and other.legs["other.0"].state == "Up"

    tracker.handle(hangup(CALLER_1, T0 + 61))
    assert recorder.kinds("ended") == [CALL]


def test_resync_ends_only_the_missing_legs(tracker: CallTracker, recorder: Recorder) -> None:
    play_queue_call(tracker)
    alive = [
        ChannelSnapshot(uid, CALL, CHANNELS[uid], "13262992312", "张伟", "Up", 30)
        for uid in (CALLER_1, AGENT_2)
    ]
    recorder.updates.clear()
    tracker.resync(alive, at=T0 + 30)
    call = tracker.get(CALL)
    assert call is not None and recorder.updates == [("updated", CALL)]
    assert call.legs[CALLER_2].hangup_cause_text == LOST_DURING_OUTAGE
    assert call.legs[AGENT_1].ended_at == T0 + 30
    assert call.legs[CALLER_1].ended_at is None and call.hangup_cause is None
    assert call.legs[AGENT_2].state == "Up"


def test_resync_adds_calls_it_did_not_know(tracker: CallTracker, recorder: Recorder) -> None:
    snapshots = [
        ChannelSnapshot("n.5", "n.0", "Local/1002@agents-0000000a;1", "13588220482", "刘洋",
                        "Up", 20),
        ChannelSnapshot("n.0", "n.0", "Local/s@caller-00000009;1", "13588220482", "刘洋",
                        "Up", 42),
        ChannelSnapshot("n.1", "n.0", "Local/s@caller-00000009;2", None, None, "Up", 42),
    ]
    at = T0 + 100
    tracker.resync(snapshots, at)
    tracker.resync(snapshots, at + 1)
    assert recorder.updates == [("started", "n.0")]
    call = tracker.get("n.0")
    assert call is not None and list(call.legs)[0] == "n.0"
    assert call.started_at == at - 42 and call.legs["n.5"].created_at == at - 20
    assert (call.caller_number, call.caller_name) == ("13588220482", "刘洋")

    tracker.handle(created("n.5", at + 2, linkedid="n.0"))
    tracker.handle(hangup("gone.1", at + 2, linkedid="gone.0"))
    assert recorder.updates == [("started", "n.0")]
    for uid in ("n.5", "n.1", "n.0"):
        tracker.handle(hangup(uid, at + 5, linkedid="n.0"))
    assert recorder.kinds("ended") == ["n.0"]
    assert recorder.snapshots[-1]["duration"] == 47.0


def test_adopt_adds_a_call_met_in_the_middle_and_ends_nothing(tracker: CallTracker, recorder: Recorder) -> None:
    """An edge box's own call, taken while the queue box is down (ctiserver.telephony.standin):
    added from the edge's channel list; the calls the tracker knows (box-1's) stay as they are."""
    play_queue_call(tracker)
    recorder.updates.clear()
    edge = [ChannelSnapshot("box-2-1.7", "box-2-1.7", "PJSIP/carrier-00000003", "13588220482", "刘洋", "Up", 6)]
    tracker.adopt(edge, T0 + 100)
    tracker.adopt(edge, T0 + 101)
    assert recorder.updates == [("started", "box-2-1.7")]
    call = tracker.get("box-2-1.7")
    assert call is not None and call.started_at == T0 + 94 and call.caller_number == "13588220482"
    assert {c.linkedid for c in tracker.active_calls()} == {CALL, "box-2-1.7"}


def test_queue_entry_after_resync_restores_the_wait(
    tracker: CallTracker, recorder: Recorder
) -> None:
    at = T0 + 100
    tracker.resync([ChannelSnapshot("q.0", "q.0", "PJSIP/trunk-1", "13800138000", None, "Up",
                                    50)], at)
    tracker.handle(QueueCallerJoined(at - 42, "q.0", "q.0", "PJSIP/trunk-1", "support", 1, 5))
    call = tracker.get("q.0")
    assert call is not None and call.queue == "support"
    assert call.to_dict(at)["wait_seconds"] == 42.0
    assert recorder.updates == [("started", "q.0"), ("updated", "q.0")]


def test_resync_adds_a_missing_leg_to_a_known_call(
    tracker: CallTracker, recorder: Recorder
) -> None:
    tracker.handle(created(CALLER_1, T0 + 10))
    snapshots = [
        ChannelSnapshot(CALLER_1, CALL, CHANNELS[CALLER_1], None, None, "Up", 30),
        ChannelSnapshot(AGENT_1, CALL, CHANNELS[AGENT_1], None, None, "Ringing", 3),
    ]
    tracker.resync(snapshots, at=T0 + 40)
    call = tracker.get(CALL)
    assert call is not None and set(call.legs) == {CALLER_1, AGENT_1}
    assert call.started_at == T0 + 10
    assert call.legs[CALLER_1].state == "Up" and call.legs[AGENT_1].state == "Ringing"
    assert recorder.updates == [("started", CALL), ("updated", CALL)]


def test_to_dict_is_json_serialisable(tracker: CallTracker) -> None:
    play_queue_call(tracker)
    call = tracker.get(CALL)
    assert call is not None
    data = json.loads(json.dumps(call.to_dict(now=T0 + 12.3456)))
    assert data["id"] == CALL and data["state"] == "active"
    assert data["duration"] == 12.346 and data["wait_seconds"] == 1.0
    assert data["started_at"] == "2026-11-22T19:33:55.000+00:00"
    assert data["answered_at"] == "2026-11-22T19:33:58.000+00:00"
    assert data["ended_at"] is None
    assert (data["caller_number"], data["caller_name"]) == ("13262992312", "张伟")
    assert (data["queue"], data["agent"]) == ("support", "Alice")
    assert [leg["uniqueid"] for leg in data["legs"]] == [CALLER_1, CALLER_2, AGENT_1, AGENT_2]
    assert data["legs"][0] == {
        "uniqueid": CALLER_1, "channel": CHANNELS[CALLER_1], "caller_number": "13262992312",
        "caller_name": "张伟", "state": "Up", "created_at": "2026-11-22T19:33:55.000+00:00",
        "answered_at": "2026-11-22T19:33:55.100+00:00", "ended_at": None,
        "hangup_cause": None, "hangup_cause_text": None,
    }


def test_agent_falls_back_to_interface(tracker: CallTracker) -> None:
    tracker.handle(created(CALLER_1, T0))
    tracker.handle(agent_connected(T0 + 1, member=None))
    call = tracker.get(CALL)
    assert call is not None and call.agent == "Local/1001@agents"
    assert call.wait_seconds is None and call.waited(T0 + 5) is None
