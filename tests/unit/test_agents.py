"""The agent state machine: transitions, impossible events, pauses, wrap-up, resync."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ctiserver.agents.model import (
    AgentBoard,
    AgentState,
    AgentUpdate,
    PauseInterval,
    StateInterval,
    device_of_channel,
    device_of_interface,
)
from ctiserver.agents.model.board import RELEASE_AFTER
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentDumped,
    AgentEvent,
    AgentRingNoAnswer,
    ChannelHungUp,
    DeviceStatus,
    DialEnded,
    DialStarted,
    QueueCallerAbandoned,
    QueueMemberAdded,
    QueueMemberListed,
    QueueMemberPauseChanged,
    QueueMemberRemoved,
    QueueMemberStatusChanged,
    QueueParamsListed,
)

T = 1_795_376_000.0
ALICE = "PJSIP/1001"
BOB = "Local/1002@lab-agents/n"
CALLER = "1795376000.1"

R, O, W = AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP
READY, PAUSED, OUT = AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT


def agent_event(
    cls: type[AgentEvent], at: float, interface: str = ALICE, caller: str = CALLER,
    queue: str = "support", **extra: object,
) -> Any:
    """An app_queue agent event of ``caller``'s call, ``at`` seconds after T."""
    defaults: dict[str, object] = {
        AgentConnected: {"hold_seconds": 3, "ring_seconds": 2},
        AgentCompleted: {"hold_seconds": 3, "talk_seconds": 30, "reason": "caller"},
        AgentRingNoAnswer: {"ring_seconds": 15},
    }.get(cls, {})
    return cls(
        T + at, caller, caller, f"PJSIP/trunk-{caller}", queue, interface, None,
        f"{interface}-0001", f"{caller}9", **{**defaults, **extra},
    )


def called(at: float, **kw: str) -> AgentCalled:
    return agent_event(AgentCalled, at, **kw)


def connected(at: float, **kw: str) -> AgentConnected:
    return agent_event(AgentConnected, at, **kw)


def completed(at: float, **kw: str) -> AgentCompleted:
    return agent_event(AgentCompleted, at, **kw)


def no_answer(at: float, **kw: str) -> AgentRingNoAnswer:
    return agent_event(AgentRingNoAnswer, at, **kw)


def added(
    at: float, interface: str = ALICE, queue: str = "support", **kw: Any
) -> QueueMemberAdded:
    return QueueMemberAdded(T + at, queue, interface, member_name="Alice", **kw)


def pause(
    at: float, reason: str | None = "lunch", paused: bool = True, queue: str = "support",
    interface: str = ALICE,
) -> QueueMemberPauseChanged:
    return QueueMemberPauseChanged(
        T + at, queue, interface, paused=paused, paused_reason=reason if paused else None
    )


class Recorder:
    def __init__(self, board: AgentBoard) -> None:
        self.updates: list[AgentUpdate] = []
        board.subscribe(self.updates.append)

    def closed(self) -> list[StateInterval | PauseInterval]:
        return [i for u in self.updates for i in u.closed]

    def states(self) -> list[tuple[AgentState, float, float]]:
        return [(i.state, i.start - T, i.end - T) for i in self.closed()
                if isinstance(i, StateInterval)]

    def pauses(self) -> list[tuple[str | None, float, float]]:
        return [(i.reason, i.start - T, i.end - T) for i in self.closed()
                if isinstance(i, PauseInterval)]


@pytest.fixture
def board() -> AgentBoard:
    return AgentBoard(wrapup_seconds={"support": 10}, default_wrapup_seconds=0)


def state(board: AgentBoard, interface: str = ALICE) -> AgentState:
    agent = board.get(interface)
    assert agent is not None
    return agent.state


def test_login_call_wrapup_ready(board: AgentBoard) -> None:
    rec = Recorder(board)
    board.handle(added(0))
    agent = board.get(ALICE)
    assert agent is not None and agent.state == READY and agent.queues == {"support"}
    assert (agent.name, agent.extension, agent.state_since) == ("Alice", "1001", T)

    board.handle(called(5))
    assert (agent.state, agent.linkedid, agent.call_queue) == (R, CALLER, "support")
    board.handle(connected(7))
    assert agent.state == O and agent.linkedid == CALLER
    board.handle(completed(40))
    assert agent.state == W and agent.wrapup_until == T + 50
    assert agent.linkedid == CALLER

    board.tick(T + 49.9)
    assert agent.state == W
    board.tick(T + 55)
    # Wrap-up ends when it was due, not when the tick came.
    assert (agent.state, agent.state_since, agent.linkedid) == (READY, T + 50, None)
    assert rec.states() == [(READY, 0, 5), (R, 5, 7), (O, 7, 40), (W, 40, 50)]
    assert all(u.agent is agent for u in rec.updates)


def test_wrapup_ends_lazily_at_the_next_event_without_tick(board: AgentBoard) -> None:
    rec = Recorder(board)
    for event in (added(0), called(1), connected(2), completed(10), called(30, caller="2.0")):
        board.handle(event)
    assert state(board) == R
    assert rec.states()[-2:] == [(W, 10, 20), (READY, 20, 30)]


def test_member_wrapup_time_wins_over_the_queues(board: AgentBoard) -> None:
    board.handle(added(0, wrapup_seconds=3))
    for event in (called(1), connected(2), completed(10)):
        board.handle(event)
    agent = board.get(ALICE)
    assert agent is not None and agent.wrapup_until == T + 13


def test_no_wrapup_goes_straight_to_ready() -> None:
    board = AgentBoard()
    rec = Recorder(board)
    for event in (added(0), called(1), connected(2), completed(10)):
        board.handle(event)
    assert state(board) == READY
    assert rec.states() == [(READY, 0, 1), (R, 1, 2), (O, 2, 10)]


def test_ring_no_answer_back_to_ready_or_paused(board: AgentBoard) -> None:
    board.handle(added(0))
    board.handle(called(1))
    board.handle(no_answer(16))
    assert state(board) == READY

    board.handle(called(20, caller="2.0"))
    board.handle(pause(21, "training"))  # paused while ringing: after the ring
    assert state(board) == R
    board.handle(no_answer(35, caller="2.0"))
    agent = board.get(ALICE)
    assert agent is not None and (agent.state, agent.state_reason) == (PAUSED, "training")


def test_pause_intervals_with_reasons(board: AgentBoard) -> None:
    rec = Recorder(board)
    board.handle(added(0))
    board.handle(pause(10, "lunch"))
    agent = board.get(ALICE)
    assert agent is not None
    assert (agent.state, agent.state_reason, agent.pause_started) == (PAUSED, "lunch", T + 10)
    board.handle(pause(40, "lunch"))  # repeated: nothing changes
    board.handle(pause(70, "training"))  # a new reason: a new pause
    board.handle(pause(100, paused=False))
    assert agent.state == READY and agent.pause_started is None and not agent.paused
    assert rec.pauses() == [("lunch", 10, 70), ("training", 70, 100)]
    assert rec.states() == [(READY, 0, 10), (PAUSED, 10, 70), (PAUSED, 70, 100)]
    assert [i.reason for i in rec.closed() if isinstance(i, StateInterval)] == [
        None, "lunch", "training"
    ]
    assert [(p.reason, p.start - T) for p in agent.pauses] == [("lunch", 10), ("training", 70)]


def test_pause_during_call_takes_effect_after_wrapup(board: AgentBoard) -> None:
    rec = Recorder(board)
    for event in (added(0), called(1), connected(2), pause(5, "after-call work")):
        board.handle(event)
    agent = board.get(ALICE)
    assert agent is not None and agent.state == O and agent.paused
    board.handle(completed(30))
    assert agent.state == W
    board.tick(T + 40)
    assert (agent.state, agent.state_reason) == (PAUSED, "after-call work")
    board.handle(pause(60, paused=False))
    assert agent.state == READY
    assert rec.pauses() == [("after-call work", 5, 60)]


def test_paused_only_when_paused_in_every_queue(board: AgentBoard) -> None:
    board.handle(added(0, queue="support"))
    board.handle(added(0, queue="sales"))
    board.handle(pause(10, "lunch", queue="support"))
    agent = board.get(ALICE)
    assert agent is not None and agent.state == READY and not agent.paused
    board.handle(pause(20, "lunch", queue="sales"))
    assert agent.state == PAUSED and agent.pause_started == T + 20
    board.handle(QueueMemberRemoved(T + 30, "sales", ALICE))
    assert agent.state == PAUSED  # still paused in its only queue


def test_logout_closes_the_pause_and_removal_mid_call_waits_for_the_call(
    board: AgentBoard,
) -> None:
    rec = Recorder(board)
    board.handle(added(0))
    board.handle(pause(10, "lunch"))
    board.handle(QueueMemberRemoved(T + 20, "support", ALICE))
    assert state(board) == OUT and rec.pauses() == [("lunch", 10, 20)]

    board.handle(added(30))
    board.handle(called(31))
    board.handle(connected(32))
    board.handle(QueueMemberRemoved(T + 40, "support", ALICE))
    assert state(board) == O
    board.handle(completed(50))
    board.tick(T + 60)
    assert state(board) == OUT


def test_removing_an_unknown_member_is_ignored(board: AgentBoard) -> None:
    board.handle(QueueMemberRemoved(T, "support", "PJSIP/9999"))
    assert board.all() == []


def test_static_member_first_seen_ringing_without_warning(
    board: AgentBoard, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ctiserver.agents.model"):
        board.handle(called(1, interface=BOB))
    agent = board.get(BOB)
    assert agent is not None and agent.state == R and agent.queues == {"support"}
    assert agent.extension == "1002"
    assert caplog.records == []


@pytest.mark.parametrize(
    ("setup", "event", "expected"),
    [
        ([added(0)], connected(5), O),  # AgentConnect without AgentCalled
        ([added(0)], completed(5), W),  # AgentComplete without a call
        ([added(0), pause(1)], called(5), R),  # a paused agent is never offered a call
        ([added(0), called(1), connected(2), completed(3)], called(5, caller="2.0"), R),
        ([added(0), QueueMemberRemoved(T + 1, "support", ALICE)], called(5), R),
        ([added(0), called(1)], completed(5), W),  # AgentConnect missed
    ],
    ids=["connect-ready", "complete-ready", "called-paused", "called-wrapup", "called-out",
         "complete-ringing"],
)
def test_impossible_events_are_logged_and_corrected(
    board: AgentBoard, caplog: pytest.LogCaptureFixture,
    setup: list[object], event: object, expected: AgentState,
) -> None:
    for e in setup:
        board.handle(e)
    with caplog.at_level(logging.WARNING, logger="ctiserver.agents.model"):
        board.handle(event)
    assert state(board) == expected
    assert caplog.records, "an impossible event must be logged"
    agent = board.get(ALICE)
    assert agent is not None
    if expected in (R, O):
        assert agent.linkedid == CALLER or agent.linkedid == "2.0"
        assert "support" in agent.queues and "support" not in agent.paused_in


def test_offer_to_paused_agent_ends_its_pause(board: AgentBoard) -> None:
    rec = Recorder(board)
    for event in (added(0), pause(1, "lunch"), called(5)):
        board.handle(event)
    agent = board.get(ALICE)
    assert agent is not None and not agent.paused
    assert rec.pauses() == [("lunch", 1, 5)]


def test_stale_and_harmless_events_change_nothing(
    board: AgentBoard, caplog: pytest.LogCaptureFixture
) -> None:
    board.handle(added(0))
    with caplog.at_level(logging.WARNING, logger="ctiserver.agents.model"):
        board.handle(no_answer(1))  # never rang
        assert state(board) == READY
        board.handle(called(2))
        board.handle(connected(3))
        board.handle(completed(4, caller="0.9"))  # an older call's completion
        assert state(board) == O
        board.handle(no_answer(5, caller="0.9"))
        board.handle(connected(6))  # repeated
        assert state(board) == O
        board.handle(agent_event(AgentDumped, 7, caller="0.9"))
        assert state(board) == O
    assert caplog.records == []


def test_offered_while_on_another_call_stays_on_call(board: AgentBoard) -> None:
    for event in (added(0), called(1), connected(2), called(10, caller="2.0")):
        board.handle(event)
    agent = board.get(ALICE)
    assert agent is not None and (agent.state, agent.linkedid) == (O, CALLER)


def test_agent_dump_ends_the_call(board: AgentBoard) -> None:
    for event in (added(0), called(1), connected(2)):
        board.handle(event)
    board.handle(agent_event(AgentDumped, 3))
    assert state(board) == READY


def test_ringall_losers_and_abandons_stop_ringing(board: AgentBoard) -> None:
    for event in (added(0), added(0, interface=BOB), called(1), called(1, interface=BOB)):
        board.handle(event)
    assert (state(board), state(board, BOB)) == (R, R)
    board.handle(connected(3, interface=BOB))
    assert (state(board), state(board, BOB)) == (READY, O)

    board.handle(called(10, caller="2.0"))
    board.handle(QueueCallerAbandoned(T + 12, "2.0", "2.0", "PJSIP/trunk-2", "support", 1, 1, 2))
    assert state(board) == READY

    board.handle(called(20, caller="3.0"))
    board.handle(ChannelHungUp(T + 21, "3.0", "3.0", "PJSIP/trunk-3", 16, "Normal Clearing"))
    assert state(board) == READY


def test_status_events_sync_membership_and_pause_not_the_call(board: AgentBoard) -> None:
    board.handle(QueueMemberStatusChanged(T, "support", ALICE, status=DeviceStatus.NOT_INUSE,
                                          paused=False, in_call=False))
    agent = board.get(ALICE)
    assert agent is not None and agent.state == READY
    board.handle(called(1))
    board.handle(connected(2))
    # Asterisk 22 reports the idle device just before AgentComplete (see the recording).
    board.handle(QueueMemberStatusChanged(T + 30, "support", ALICE,
                                          status=DeviceStatus.NOT_INUSE, in_call=False))
    assert agent.state == O and agent.device_status == DeviceStatus.NOT_INUSE
    board.handle(QueueMemberStatusChanged(T + 31, "support", ALICE, paused=True,
                                          paused_reason="training"))
    board.handle(completed(32))
    board.tick(T + 50)
    assert (agent.state, agent.state_reason) == (PAUSED, "training")


def test_resync_adds_removes_and_corrects(board: AgentBoard) -> None:
    rec = Recorder(board)
    board.handle(added(0))
    board.handle(added(0, interface=BOB))
    board.handle(called(1, interface=BOB))
    board.handle(connected(2, interface=BOB))
    carol, dave = "PJSIP/1003", "PJSIP/1004"
    board.handle(added(0, interface=dave))
    listing = [
        QueueParamsListed(T + 100, "support", strategy="rrmemory"),
        # Bob's call ended while we were away.
        QueueMemberListed(T + 100, "support", BOB, status=DeviceStatus.NOT_INUSE, in_call=False),
        QueueMemberListed(T + 100, "support", carol, member_name="Carol", paused=True,
                          paused_reason="training", last_pause=T + 60,
                          status=DeviceStatus.NOT_INUSE),
        QueueMemberListed(T + 100, "sales", carol, paused=True, paused_reason="lunch",
                          last_pause=T + 70),
        QueueMemberListed(T + 100, "support", dave, status=DeviceStatus.INUSE, in_call=True),
    ]
    board.resync(listing, T + 100)

    assert state(board) == OUT  # Alice is no longer listed
    assert state(board, BOB) == READY
    c = board.get(carol)
    assert c is not None and c.name == "Carol" and c.queues == {"support", "sales"}
    assert (c.state, c.state_since, c.pause_started, c.pause_reason) == (
        PAUSED, T + 100, T + 70, "lunch"
    )
    d = board.get(dave)
    assert d is not None and (d.state, d.linkedid) == (O, None)
    assert (READY, 0, 100) in rec.states()
    assert (O, 2, 100) in rec.states()

    board.resync(listing, T + 200)  # the same listing again changes nothing
    assert (c.state, c.state_since, c.pause_started) == (PAUSED, T + 100, T + 70)
    board.resync([], T + 300)
    assert {a.state for a in board.all()} == {OUT}
    assert ("lunch", 70, 300) in rec.pauses()


def test_time_never_runs_backwards(board: AgentBoard) -> None:
    rec = Recorder(board)
    board.handle(added(10))
    board.handle(called(5))  # an event stamped earlier than the last
    board.handle(connected(20))
    assert all(start <= end for _, start, end in rec.states())
    agent = board.get(ALICE)
    assert agent is not None and agent.state_since == T + 20


def test_listener_errors_are_contained(board: AgentBoard, caplog: pytest.LogCaptureFixture) -> None:
    def broken(update: AgentUpdate) -> None:
        raise RuntimeError("boom")

    seen: list[AgentUpdate] = []
    board.subscribe(broken)
    unsubscribe = board.subscribe(seen.append)
    board.handle(added(0))
    assert len(seen) == 1 and "agent listener" in caplog.text
    unsubscribe()
    unsubscribe()
    board.handle(pause(1))
    assert len(seen) == 1


def test_unrelated_events_are_ignored(board: AgentBoard) -> None:
    board.handle(object())
    board.handle(QueueParamsListed(T, "support"))
    assert board.all() == []


def test_to_dict(board: AgentBoard) -> None:
    board.handle(added(0, status=DeviceStatus.NOT_INUSE))
    board.handle(pause(10, "lunch"))
    agent = board.get(ALICE)
    assert agent is not None
    view = agent.to_dict(now=T + 25)
    assert view["state"] == "paused" and view["pause_reason"] == "lunch"
    assert view["state_seconds"] == 15.0 and view["queues"] == ["support"]
    assert view["extension"] == "1001" and view["device_status"] == "not_inuse"
    assert view["state_since"].startswith("2026-")


# --- direct calls: a call transferred to an agent's phone -----------------------

BOB_LEG = "Local/1002@lab-agents-0000002a;1"
BOB_LEG_ID = "1795376000.42"


def dialled(at: float, dest: str = BOB_LEG, dest_id: str = BOB_LEG_ID, caller: str = CALLER) -> DialStarted:
    return DialStarted(T + at, caller, caller, f"PJSIP/trunk-{caller}", dest, dest_id)


def dial_ended(at: float, status: str = "ANSWER", dest: str = BOB_LEG, dest_id: str = BOB_LEG_ID) -> DialEnded:
    return DialEnded(T + at, CALLER, CALLER, f"PJSIP/trunk-{CALLER}", dest, dest_id, status)


def hung_up(at: float, uniqueid: str, linkedid: str = CALLER) -> ChannelHungUp:
    return ChannelHungUp(T + at, uniqueid, linkedid, "whatever", 16, "Normal Clearing")


def test_devices_of_interfaces_and_channels() -> None:
    assert device_of_interface("Local/1002@lab-agents/n") == "Local/1002@lab-agents"
    assert device_of_interface("PJSIP/1001") == "PJSIP/1001"
    assert device_of_channel("Local/1002@lab-agents-0000002a;1") == "Local/1002@lab-agents"
    assert device_of_channel("Local/1002@lab-agents-0000002a;2") == "Local/1002@lab-agents"
    assert device_of_channel("PJSIP/1001-0000000c") == "PJSIP/1001"
    assert device_of_channel("Local/oops") is None


def test_a_call_transferred_to_an_agent_rings_then_connects_then_wraps_up() -> None:
    board = AgentBoard(default_wrapup_seconds=5)
    updates: list[AgentUpdate] = []
    board.subscribe(updates.append)
    for event in (added(0), added(0, interface=BOB)):
        board.handle(event)
    board.handle(called(1))
    board.handle(connected(3))
    board.handle(completed(30, reason="transfer"))
    assert board.get(ALICE).state is W

    board.handle(dialled(31))
    bob = board.get(BOB)
    assert (bob.state, bob.linkedid, bob.direct, bob.call_queue) == (R, CALLER, True, None)
    assert bob.channel == BOB_LEG

    board.handle(dial_ended(35))
    assert bob.state is O
    board.handle(hung_up(90, BOB_LEG_ID))
    assert (bob.state, bob.linkedid) == (W, CALLER)
    board.tick(T + 96)
    assert (bob.state, bob.linkedid, bob.direct, bob.channel) == (READY, None, False, None)
    assert [(i.state, i.end - i.start) for i in bob_intervals(updates) if i.state in (R, O, W)] == [
        (R, 4.0), (O, 55.0), (W, 5.0),
    ]


def bob_intervals(updates: list[AgentUpdate]) -> list[StateInterval]:
    return [i for u in updates for i in u.closed if isinstance(i, StateInterval) and i.interface == BOB]


def test_the_queues_own_dial_after_agentcalled_is_not_a_direct_call() -> None:
    board = AgentBoard()
    board.handle(added(0, interface=BOB))
    board.handle(called(1, interface=BOB))
    board.handle(dialled(1, dest_id=f"{CALLER}9"))
    bob = board.get(BOB)
    assert (bob.state, bob.direct, bob.call_queue) == (R, False, "support")
    board.handle(dial_ended(4, dest_id=f"{CALLER}9"))
    assert bob.state is R  # the queue's AgentConnect decides


def test_a_direct_ring_unanswered_or_abandoned_leaves_the_agent_idle() -> None:
    board = AgentBoard()
    board.handle(added(0, interface=BOB))
    board.handle(dialled(1))
    board.handle(dial_ended(20, status="NOANSWER"))
    assert board.get(BOB).state is READY
    board.handle(dialled(21, dest_id="1795376000.43"))
    board.handle(hung_up(25, CALLER))  # the caller gives up while it rings
    assert board.get(BOB).state is READY


def test_a_busy_agent_dialled_for_another_call_stays_on_their_call(caplog: pytest.LogCaptureFixture) -> None:
    board = AgentBoard()
    board.handle(added(0, interface=BOB))
    board.handle(called(1, interface=BOB, caller="1795376000.7"))
    board.handle(connected(2, interface=BOB, caller="1795376000.7"))
    with caplog.at_level(logging.INFO):
        board.handle(dialled(5))
    assert (board.get(BOB).state, board.get(BOB).linkedid) == (O, "1795376000.7")
    assert "kept on that call" in caplog.text


def test_a_dial_to_a_device_of_no_agent_is_ignored() -> None:
    board = AgentBoard()
    board.handle(added(0, interface=BOB))
    board.handle(dialled(1, dest="Local/s@lab-caller-00000001;1"))
    assert board.get(BOB).state is READY


def test_an_enrolled_agent_logged_out_of_every_queue_is_still_rung_directly() -> None:
    board = AgentBoard(clock=lambda: T)
    board.enroll(BOB, "Bob")
    assert board.get(BOB).state is OUT
    board.handle(dialled(1))
    board.handle(dial_ended(3))
    bob = board.get(BOB)
    assert (bob.state, bob.name) == (O, "Bob")
    board.handle(hung_up(60, BOB_LEG_ID))
    assert bob.state is OUT


def test_an_agent_cannot_stay_on_a_call_that_has_ended(
    board: AgentBoard, caplog: pytest.LogCaptureFixture
) -> None:
    """The race seen once in 30 real calls: the call's channels all hung up, the agent's
    AgentComplete never came (or its AgentConnect came after the hangups). Then the next
    call offered to that agent must ring them, not be logged as offered while on call."""
    for event in (added(0), called(1)):
        board.handle(event)
    board.call_ended(CALLER, T + 2)
    board.handle(connected(2.1))  # late: the call is already gone
    agent = board.get(ALICE)
    assert agent is not None and agent.state == O
    board.tick(T + 2 + RELEASE_AFTER - 0.1)
    assert agent.state == O, "Asterisk's own AgentComplete gets its chance first"
    with caplog.at_level(logging.WARNING, logger="ctiserver.agents.model"):
        board.tick(T + 2 + RELEASE_AFTER)
    assert agent.state == W and agent.wrapup_until == T + 2 + RELEASE_AFTER + 10
    assert "still on call 1795376000.1" in caplog.text
    board.tick(T + 30)
    assert agent.state == READY
    board.handle(called(31, caller="2.0"))
    assert (agent.state, agent.linkedid) == (R, "2.0")


def test_a_call_that_ends_normally_keeps_its_queues_wrapup(board: AgentBoard) -> None:
    for event in (added(0), called(1), connected(2)):
        board.handle(event)
    board.call_ended(CALLER, T + 40)  # the hangups come first...
    board.handle(completed(40.01))  # ...then app_queue's AgentComplete
    board.tick(T + 46)
    agent = board.get(ALICE)
    assert agent is not None and agent.state == W and agent.wrapup_until == T + 50.01


def test_ringing_for_an_ended_call_is_released(board: AgentBoard) -> None:
    for event in (added(0), called(1)):
        board.handle(event)
    board.call_ended(CALLER, T + 2)
    board.tick(T + 2 + RELEASE_AFTER)
    assert state(board) == READY
