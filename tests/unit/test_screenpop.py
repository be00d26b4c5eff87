"""ScreenPopService: who gets which pop, in which order, fed with typed events (no I/O)."""

from __future__ import annotations

import asyncio
from typing import Any

from ctiserver.agents.model import AgentBoard
from ctiserver.agents.seats import AgentSeats
from ctiserver.calls.model import CallTracker
from ctiserver.pops.service import ScreenPopService
from ctiserver.telephony.events import (
    AgentCalled,
    AgentCompleted,
    AgentConnected,
    AgentRingNoAnswer,
    CallerIdChanged,
    ChannelCreated,
    ChannelHungUp,
    DialEnded,
    DialStarted,
    QueueCallerJoined,
    QueueMemberAdded,
)

ALICE, BOB = "PJSIP/1001", "PJSIP/1002"
CALL = "1795376035.0"


class Hub:
    def __init__(self) -> None:
        self.sent: list[tuple[int, dict[str, Any]]] = []

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.sent.append((user_id, message))

    def events(self, user_id: int) -> list[str]:
        return [m["event"] for u, m in self.sent if u == user_id]


class Lookup:
    """Customer cards that arrive only when the test lets them."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked: list[str] = []

    async def __call__(self, number: str) -> list[dict[str, Any]]:
        self.asked.append(number)
        await self.release.wait()
        return [{"id": 7, "name": "张伟", "level": "vip"}]


def setup() -> tuple[ScreenPopService, AgentBoard, CallTracker, Hub, Lookup]:
    calls, board, hub, lookup = CallTracker(clock=lambda: 100.0), AgentBoard(clock=lambda: 100.0), Hub(), Lookup()
    seats = AgentSeats()
    pops = ScreenPopService(calls=calls, cards=lookup, ivr_runs={}, seats=seats, clock=lambda: 100.0)
    pops.attach(hub)
    seats.seat(ALICE, 1)
    seats.seat(BOB, 2)
    board.subscribe(pops.on_agent_update)
    calls.subscribe(pops.on_call_update)
    for interface in (ALICE, BOB):
        board.handle(QueueMemberAdded(at=90.0, queue="support", interface=interface))
    calls.handle(ChannelCreated(at=95.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                caller_number=None, caller_name=None, context="hotline", exten="4008001234",
                                state="Ring"))
    return pops, board, calls, hub, lookup


def agent_event(cls: type, interface: str, at: float, **extra: Any) -> Any:
    return cls(at=at, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1", queue="support",
               interface=interface, member_name=None, dest_channel=None, dest_uniqueid=None, **extra)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_cards_are_fetched_once_the_number_is_known_and_the_ring_waits_for_them() -> None:
    pops, board, calls, hub, lookup = setup()
    calls.handle(CallerIdChanged(at=96.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                 caller_number="13800138000", caller_name="张伟"))
    await settle()
    assert lookup.asked == ["13800138000"], "fetched while the caller is still in the IVR"
    calls.handle(QueueCallerJoined(at=97.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                   queue="support", position=1))
    board.handle(agent_event(AgentCalled, ALICE, 98.0))
    board.handle(agent_event(AgentConnected, ALICE, 99.0, hold_seconds=2, ring_seconds=1))
    await settle()
    assert hub.sent == [], "nothing goes out before the cards are there"
    lookup.release.set()
    await settle()
    assert hub.events(1) == ["ringing", "answered"], "ringing first, even though the answer came during the lookup"
    assert hub.events(2) == []
    ringing = hub.sent[0][1]["pop"]
    assert ringing["caller_number"] == "13800138000" and ringing["customers"][0]["name"] == "张伟"
    assert lookup.asked == ["13800138000"], "one lookup per call"


async def test_an_unanswered_ring_is_withdrawn_and_the_next_agent_gets_the_pop() -> None:
    pops, board, calls, hub, lookup = setup()
    lookup.release.set()
    calls.handle(CallerIdChanged(at=96.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                 caller_number="13800138000", caller_name="张伟"))
    board.handle(agent_event(AgentCalled, ALICE, 98.0))
    await settle()
    assert pops.greeting_for(1)[0]["event"] == "ringing", "a reconnecting websocket gets the ringing pop"
    board.handle(agent_event(AgentRingNoAnswer, ALICE, 113.0, ring_seconds=15))
    board.handle(agent_event(AgentCalled, BOB, 113.5))
    await settle()
    board.handle(agent_event(AgentConnected, BOB, 115.0, hold_seconds=17, ring_seconds=2))
    board.handle(agent_event(AgentCompleted, BOB, 160.0, hold_seconds=17, talk_seconds=45, reason="caller"))
    await settle()
    assert hub.events(1) == ["ringing", "withdrawn"]
    assert hub.events(2) == ["ringing", "answered", "ended"]
    assert pops.greeting_for(1) == [] and pops.greeting_for(2) == []
    assert hub.sent[-1][1]["pop"]["ended_at"] is not None


async def test_an_agent_nobody_sits_at_gets_no_pop() -> None:
    pops, board, calls, hub, lookup = setup()
    lookup.release.set()
    board.handle(QueueMemberAdded(at=90.0, queue="support", interface="PJSIP/1009"))
    board.handle(agent_event(AgentCalled, "PJSIP/1009", 98.0))
    await settle()
    assert hub.sent == []


async def test_a_transferred_call_pops_on_the_new_agents_desk_saying_from_whom() -> None:
    pops, board, calls, hub, lookup = setup()
    lookup.release.set()
    calls.handle(CallerIdChanged(at=96.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                 caller_number="13800138000", caller_name="张伟"))
    board.handle(agent_event(AgentCalled, ALICE, 98.0))
    board.handle(agent_event(AgentConnected, ALICE, 99.0, hold_seconds=2, ring_seconds=1))
    await settle()
    board.handle(agent_event(AgentCompleted, ALICE, 130.0, hold_seconds=2, talk_seconds=31, reason="transfer"))
    bob_leg = ("PJSIP/1002-0000000c", "1795376099.9")
    board.handle(DialStarted(131.0, CALL, CALL, "PJSIP/trunk-1", *bob_leg))
    await settle()
    board.handle(DialEnded(133.0, CALL, CALL, "PJSIP/trunk-1", *bob_leg, "ANSWER"))
    await settle()
    assert hub.events(1) == ["ringing", "answered", "ended"]
    assert hub.events(2) == ["ringing", "answered"]
    bobs = [m["pop"] for u, m in hub.sent if u == 2]
    assert bobs[0]["transferred_from"] == {"extension": "1001", "name": None}
    assert bobs[0]["customers"][0]["name"] == "张伟" and bobs[0]["queue"] is None
    assert [m["pop"]["transferred_from"] for u, m in hub.sent if u == 1] == [None, None, None]
    board.handle(ChannelHungUp(200.0, bob_leg[1], CALL, bob_leg[0], 16, "Normal Clearing"))
    await settle()
    assert hub.events(2) == ["ringing", "answered", "ended"]
