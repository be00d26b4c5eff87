"""Waiting calls, the statistics log and the figures computed from it, and a replay
of the recorded Asterisk 22 stream through agents and statistics."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import pytest

from ctiserver.agents.model import (
    AgentBoard,
    AgentState,
    AgentUpdate,
    PauseInterval,
    StateInterval,
)
from ctiserver.calls.model import CallTracker, waiting_calls
from ctiserver.stats.model import (
    CallAbandoned,
    CallAnswered,
    CallOffered,
    CallUnanswered,
    QueueFigures,
    Record,
    StatsLog,
    TodayFigures,
    live_figures,
    longest_waits,
    open_intervals,
    record_from_dict,
    record_to_dict,
)
from ctiserver.telephony.ami.framing import FrameSplitter
from ctiserver.telephony.ami.translate import to_event
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    ChannelCreated,
    ChannelHungUp,
    QueueCallerAbandoned,
    QueueCallerJoined,
    QueueCallerLeft,
    QueueMemberAdded,
    QueueMemberPauseChanged,
)

T = 1_795_376_000.0
ALICE, BOB = "PJSIP/1001", "PJSIP/1002"

def test_waiting_calls_come_from_the_call_tracker() -> None:
    tracker = CallTracker(clock=lambda: T)
    for n, at in (("1", 0.0), ("2", 5.0), ("3", 7.0)):
        tracker.handle(ChannelCreated(T + at, n, n, f"PJSIP/trunk-{n}", "138", None, "ivr",
                                      "s", "Up"))
    tracker.handle(QueueCallerJoined(T + 10, "2", "2", "PJSIP/trunk-2", "support", 1))
    tracker.handle(QueueCallerJoined(T + 8, "1", "1", "PJSIP/trunk-1", "support", 1))
    tracker.handle(QueueCallerJoined(T + 9, "3", "3", "PJSIP/trunk-3", "sales", 1))
    assert [c.linkedid for c in waiting_calls(tracker.active_calls(), "support")] == ["1", "2"]
    assert len(waiting_calls(tracker.active_calls())) == 3
    assert longest_waits(tracker.active_calls(), T + 30) == {"support": 22.0, "sales": 21.0}
    tracker.handle(AgentConnected(T + 31, "1", "1", "PJSIP/trunk-1", "support", ALICE, None,
                                  None, None, 23, 1))
    assert longest_waits(tracker.active_calls(), T + 40) == {"support": 30.0, "sales": 31.0}


# --- the statistics log -----------------------------------------------------------


def joined(at: float, caller: str, queue: str = "support") -> QueueCallerJoined:
    return QueueCallerJoined(T + at, caller, caller, f"PJSIP/trunk-{caller}", queue, 1)


def left(at: float, caller: str, queue: str = "support") -> QueueCallerLeft:
    return QueueCallerLeft(T + at, caller, caller, f"PJSIP/trunk-{caller}", queue)


def connect(at: float, caller: str, agent: str = ALICE, hold: int | None = None,
            queue: str = "support") -> AgentConnected:
    return AgentConnected(T + at, caller, caller, f"PJSIP/trunk-{caller}", queue, agent,
                          "Alice", None, None, hold, 1)


def abandon(at: float, caller: str, hold: int | None = None) -> QueueCallerAbandoned:
    return QueueCallerAbandoned(T + at, caller, caller, f"PJSIP/trunk-{caller}", "support",
                                1, 1, hold)


def hangup(at: float, caller: str) -> ChannelHungUp:
    return ChannelHungUp(T + at, caller, caller, f"PJSIP/trunk-{caller}", 16, None)


def feed(log: StatsLog, *events: object) -> None:
    for event in events:
        log.handle(event)


def outcomes(log: StatsLog) -> list[tuple[str, str, float]]:
    return [(r.kind, r.uniqueid, round(r.wait_seconds, 3)) for r in log.records()
            if isinstance(r, CallAnswered | CallAbandoned | CallUnanswered)]


def test_answered_abandoned_and_unanswered_calls() -> None:
    log = StatsLog()
    stored: list[Record] = []
    log.subscribe(stored.append)
    feed(
        log,
        joined(0, "a"), joined(1, "b"), joined(2, "c"), joined(3, "d"), joined(4, "e"),
        left(12, "a"), connect(12.5, "a"),  # Asterisk 22: leave, then connect
        abandon(30, "b"), left(30, "b"), hangup(30.1, "b"),
        left(60, "c"), hangup(90, "c"),  # timed out, then went on to voicemail
        left(9, "d"), joined(9, "d", "sales"),  # left for another queue
        hangup(40, "e"),  # hung up without a QueueCallerAbandon
        hangup(95, "a"),
    )
    assert outcomes(log) == [
        ("answered", "a", 12.5), ("abandoned", "b", 29.0), ("unanswered", "c", 58.0),
        ("unanswered", "d", 6.0), ("abandoned", "e", 36.0),
    ]
    offered = [(r.uniqueid, r.queue) for r in log.records() if isinstance(r, CallOffered)]
    assert offered == [("a", "support"), ("b", "support"), ("c", "support"), ("d", "support"),
                       ("e", "support"), ("d", "sales")]
    assert stored == log.records()
    answered = log.records()[5]
    assert isinstance(answered, CallAnswered)
    assert (answered.interface, answered.agent_name, answered.offered_at) == (ALICE, "Alice", T)


def test_offers_listed_again_after_a_reconnection_are_not_offered_twice() -> None:
    log = StatsLog()
    # QueueStatus's QueueEntry gives a join dated Wait seconds ago.
    feed(log, joined(0, "a"), joined(0.4, "a"), connect(10, "a"))
    assert [r.kind for r in log.records()] == ["offered", "answered"]


def test_outcome_of_an_offer_made_before_we_listened() -> None:
    log = StatsLog()
    feed(log, connect(30, "a", hold=25), abandon(40, "b", hold=12), connect(50, "c"))
    assert [(r.kind, round(r.at - T, 3)) for r in log.records()] == [
        ("offered", 5.0), ("answered", 30.0), ("offered", 28.0), ("abandoned", 40.0),
        ("offered", 50.0), ("answered", 50.0),
    ]
    assert outcomes(log) == [("answered", "a", 25.0), ("abandoned", "b", 12.0),
                             ("answered", "c", 0.0)]


def test_resync_settles_offers_of_vanished_callers() -> None:
    log = StatsLog()
    feed(log, joined(0, "a"), joined(0, "b"), left(20, "b"), joined(0, "c"))
    log.resync(["c"], T + 100)
    assert outcomes(log) == [("unanswered", "b", 20.0)]
    feed(log, hangup(101, "a"), connect(102, "c"))
    assert outcomes(log)[-1] == ("answered", "c", 102.0)
    assert len(outcomes(log)) == 2  # a's outcome is unknown


def test_agent_intervals_are_records() -> None:
    board, log = AgentBoard(), StatsLog()
    board.subscribe(log.on_agent_update)
    board.handle(QueueMemberAdded(T, "support", ALICE))
    board.handle(QueueMemberPauseChanged(T + 10, "support", ALICE, paused=True,
                                         paused_reason="lunch"))
    board.handle(QueueMemberPauseChanged(T + 70, "support", ALICE, paused=False))
    assert log.records() == [
        StateInterval(ALICE, AgentState.READY, T, T + 10),
        PauseInterval(ALICE, "lunch", T + 10, T + 70),
        StateInterval(ALICE, AgentState.PAUSED, T + 10, T + 70, "lunch"),
    ]


def test_records_round_trip_through_json() -> None:
    records: list[Record] = [
        CallOffered(T, "support", "a", "a"),
        CallAnswered(T + 5, "support", "a", "a", T, 5.0, ALICE, "Alice"),
        CallAbandoned(T + 6, "support", "b", "b", T, 6.0),
        CallUnanswered(T + 7, "support", "c", "c", T, 7.0),
        StateInterval(ALICE, AgentState.PAUSED, T, T + 8, "lunch"),
        PauseInterval(ALICE, None, T, T + 9),
    ]
    text = json.dumps([record_to_dict(r) for r in records])
    assert [record_from_dict(d) for d in json.loads(text)] == records


def test_forget_before_and_since() -> None:
    log = StatsLog([CallOffered(T, "q", "a", "a"), CallOffered(T + 10, "q", "b", "b")])
    assert len(log.records(since=T + 5)) == 1
    assert log.forget_before(T + 5) == 1 and len(log.records()) == 1


# --- figures ----------------------------------------------------------------------


def test_queue_figures_and_service_level() -> None:
    log = StatsLog()
    feed(
        log,
        joined(0, "a"), connect(10, "a"),  # 10 s
        joined(0, "b"), connect(20, "b"),  # 20 s: within 20 s
        joined(0, "c"), connect(25, "c"),  # 25 s
        joined(0, "d"), abandon(8, "d"),
        joined(0, "e"), left(60, "e"), hangup(61, "e"),  # timed out: not in the service level
        joined(0, "f"),  # still waiting
    )
    figures = QueueFigures.from_records(log.records(), day_start=T, now=T + 100)
    q = figures.queues["support"]
    assert (q.offered, q.answered, q.abandoned, q.unanswered) == (6, 3, 1, 1)
    assert q.answered_within_sl == 2
    assert q.service_level == pytest.approx(50.0)  # 2 / (3 + 1)
    assert q.average_answer_seconds == pytest.approx(55 / 3)
    assert (q.longest_answer_wait, q.average_abandon_seconds) == (25.0, 8.0)
    assert figures.agents[ALICE].answered == 3
    assert figures.to_dict()["queues"]["support"]["service_level"] == 50.0

    strict = QueueFigures.from_records(log.records(), T, T + 100, service_level_seconds=10)
    assert strict.queues["support"].answered_within_sl == 1
    # Outcomes not known yet at 'now' are not counted.
    early = QueueFigures.from_records(log.records(), T, T + 15)
    assert (early.queues["support"].offered, early.queues["support"].answered) == (6, 1)


def test_empty_figures_have_no_service_level() -> None:
    figures = QueueFigures.from_records([], T, T + 100)
    assert figures.queues == {} and figures.agents == {}
    log = StatsLog()
    feed(log, joined(0, "a"))
    q = QueueFigures.from_records(log.records(), T, T + 100).queues["support"]
    assert (q.service_level, q.average_answer_seconds, q.average_abandon_seconds) == (
        None, None, None
    )


def test_a_call_counts_in_the_period_it_was_offered_in() -> None:
    log = StatsLog()
    feed(log, joined(-30, "a"), connect(10, "a"), joined(5, "b"), connect(12, "b"))
    q = QueueFigures.from_records(log.records(), T, T + 100).queues["support"]
    assert (q.offered, q.answered) == (1, 1)


def test_agent_time_per_state_and_pause_reason_clipped_to_the_period() -> None:
    records: list[Record] = [
        StateInterval(ALICE, AgentState.READY, T - 50, T + 10),
        StateInterval(ALICE, AgentState.PAUSED, T + 10, T + 70, "lunch"),
        PauseInterval(ALICE, "lunch", T + 10, T + 70),
        PauseInterval(ALICE, None, T + 70, T + 80),
        StateInterval(ALICE, AgentState.PAUSED, T + 70, T + 80),
        StateInterval(ALICE, AgentState.ON_CALL, T + 80, T + 300),
    ]
    agent = QueueFigures.from_records(records, T, T + 200).agents[ALICE]
    assert agent.state_seconds == {
        AgentState.READY: 10.0, AgentState.PAUSED: 70.0, AgentState.ON_CALL: 120.0
    }
    assert agent.pause_seconds == {"lunch": 60.0, "": 10.0}
    assert agent.to_dict()["state_seconds"]["on_call"] == 120.0


def test_live_view_agrees_with_the_history() -> None:
    """What the live view shows at a moment is what the stored log later gives for it."""
    board, log = AgentBoard(wrapup_seconds={"support": 5}), StatsLog()
    board.subscribe(log.on_agent_update)
    events = [
        QueueMemberAdded(T, "support", ALICE),
        QueueMemberAdded(T, "support", BOB),
        QueueMemberPauseChanged(T + 5, "support", BOB, paused=True, paused_reason="training"),
        joined(10, "a"),
        AgentCalled(T + 11, "a", "a", "PJSIP/trunk-a", "support", ALICE, None, None, None),
        connect(13, "a"),
        joined(20, "b"),
    ]
    for event in events:
        board.handle(event)
        log.handle(event)
    live = live_figures(log, board.all(), day_start=T, now=T + 40)
    later_events = [abandon(45, "b"),
                    AgentCompleted(T + 50, "a", "a", "PJSIP/trunk-a", "support", ALICE,
                                   None, None, None, 3, 37, "caller"),
                    hangup(50, "a"),
                    QueueMemberPauseChanged(T + 60, "support", BOB, paused=False)]
    for event in later_events:
        board.handle(event)
        log.handle(event)
    board.tick(T + 400)
    history = QueueFigures.from_records(log.records(), day_start=T, now=T + 40)
    assert live.to_dict() == history.to_dict()
    assert live.agents[BOB].pause_seconds == {"training": 35.0}
    assert live.agents[ALICE].state_seconds[AgentState.ON_CALL] == pytest.approx(27.0)
    assert len(open_intervals(board.all(), T + 400)) == 2


# --- replay of the recorded Asterisk 22 stream -------------------------------------


class Replay:
    """bytes -> FrameSplitter -> to_event -> AgentBoard + StatsLog (+ calls)."""

    def __init__(self, raw: bytes) -> None:
        self.now = T
        self.board, self.log = AgentBoard(), StatsLog()
        #: the wallboard's running figures, compared with live_figures every 200 events
        self.today = TodayFigures(self.log)
        self.today_checked: list[bool] = []
        self.tracker = CallTracker(clock=lambda: self.now)
        self.board.subscribe(self.log.on_agent_update)
        self.updates: list[AgentUpdate] = []
        self.board.subscribe(self.updates.append)
        #: per AgentConnect, the agent's state and call just before it
        self.before_connect: list[tuple[AgentState | None, str | None, str]] = []
        self.kinds: Counter[str] = Counter()
        #: what the agent model logged at INFO or above: corrections
        self.logged: list[logging.LogRecord] = []
        handler = logging.Handler(logging.INFO)
        handler.emit = self.logged.append  # type: ignore[method-assign]
        logger = logging.getLogger("ctiserver.agents.model")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            self._feed(raw)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def _feed(self, raw: bytes) -> None:
        splitter = FrameSplitter()
        for chunk in range(0, len(raw), 4096):
            for message in splitter.feed(raw[chunk:chunk + 4096]):
                self.now += 0.001
                event = to_event(message, received_at=self.now)
                if event is None:
                    continue
                self.kinds[type(event).__name__] += 1
                if isinstance(event, AgentConnected):
                    agent = self.board.get(event.interface)
                    self.before_connect.append((
                        agent.state if agent else None, agent.linkedid if agent else None,
                        event.linkedid,
                    ))
                for consumer in (self.tracker, self.board, self.log):
                    consumer.handle(event)
                if sum(self.kinds.values()) % 200 == 0:
                    self._check_today()
        assert splitter.rejected == []
        self._check_today()

    def _check_today(self) -> None:
        running = self.today.figures(self.board.all(), T, self.now).to_dict()
        self.today_checked.append(running == live_figures(self.log, self.board.all(), T, self.now).to_dict())


@pytest.fixture(scope="module")
def replay(recorded_ami_stream: bytes) -> Replay:
    return Replay(recorded_ami_stream)


def raw_count(raw: bytes, event: str) -> int:
    return len(re.findall(rb"(?:^|\r\n)Event: " + event.encode() + rb"\r\n", raw))


def test_replay_counts_match_the_raw_stream(recorded_ami_stream: bytes, replay: Replay) -> None:
    connects = raw_count(recorded_ami_stream, "AgentConnect")
    abandons = raw_count(recorded_ami_stream, "QueueCallerAbandon")
    joins = raw_count(recorded_ami_stream, "QueueCallerJoin")
    assert (connects, abandons, joins) == (200, 0, 200)
    assert replay.kinds["QueueMemberStatusChanged"] == raw_count(
        recorded_ami_stream, "QueueMemberStatus"
    )

    figures = QueueFigures.from_records(replay.log.records(), day_start=T, now=replay.now)
    assert list(figures.queues) == ["support"]
    q = figures.queues["support"]
    assert (q.offered, q.answered, q.abandoned, q.unanswered) == (joins, connects, abandons, 0)
    assert q.answered_within_sl == 200 and q.service_level == 100.0
    assert sum(a.answered for a in figures.agents.values()) == connects

    live = live_figures(replay.log, replay.board.all(), T, replay.now)
    assert live.queues["support"].to_dict() == q.to_dict()


def test_the_wallboards_running_figures_equal_the_recount_all_along(replay: Replay) -> None:
    assert len(replay.today_checked) > 20 and all(replay.today_checked)


def test_running_figures_recount_on_a_new_day_and_after_history_is_restored() -> None:
    log = StatsLog()
    today = TodayFigures(log)
    log.handle(joined(10, "a"))
    assert today.figures([], T, T + 20).queues["support"].offered == 1
    log.handle(joined(30, "b"))
    assert today.figures([], T, T + 40).queues["support"].offered == 2
    assert today.figures([], T + 20, T + 40).queues["support"].offered == 1, "a new day counts from its start"
    log.restore([CallOffered(T + 25, "support", "c", "c")])
    assert today.figures([], T + 20, T + 40).queues["support"].offered == 2, "restored history is counted"


def test_replay_every_connect_followed_its_call(replay: Replay, recorded_ami_stream: bytes) -> None:
    assert len(replay.before_connect) == 200
    for state, ringing_for, linkedid in replay.before_connect:
        assert (state, ringing_for) == (AgentState.RINGING, linkedid)
    # Independently, in the raw stream: an AgentCalled of the same caller and member first.
    called: set[tuple[bytes, bytes]] = set()
    for block in recorded_ami_stream.split(b"\r\n\r\n"):
        kind = re.search(rb"^Event: (\w+)", block)
        if kind is None or kind.group(1) not in (b"AgentCalled", b"AgentConnect"):
            continue
        fields = dict(re.findall(rb"(Uniqueid|Interface): ([^\r]*)", block))
        key = (fields[b"Uniqueid"], fields[b"Interface"])
        if kind.group(1) == b"AgentCalled":
            called.add(key)
        else:
            assert key in called


def test_replay_agents_end_ready_with_their_calls(replay: Replay) -> None:
    agents = replay.board.all()
    assert len(agents) == 200
    assert all(a.state == AgentState.READY and a.queues == {"support"} for a in agents)
    assert all(re.fullmatch(r"Local/1\d{3}@agents", a.interface) for a in agents)
    closed = [i for u in replay.updates for i in u.closed if isinstance(i, StateInterval)]
    per_state = Counter(i.state for i in closed)
    assert per_state[AgentState.RINGING] == per_state[AgentState.ON_CALL] == 200
    assert not any(isinstance(i, PauseInterval) for u in replay.updates for i in u.closed)
    # An agent is on the call from AgentConnect to AgentComplete: 15 to 25 s of the
    # caller's hold, measured here in messages (1 ms each) of the recording.
    assert all(i.end > i.start for i in closed)


def test_replay_needs_no_correction(replay: Replay) -> None:
    assert [r.getMessage() for r in replay.logged] == []
