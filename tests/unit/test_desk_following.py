"""The desk follows the call: the board's every change of an agent is pushed to the user at
that phone as the declared ``agent`` message (ringing, on call, wrap-up, paused and by whom,
ready, logged out), and a pop lists the tickets opened on its call."""

from __future__ import annotations

import asyncio
from typing import Any

from ctiserver.agents.desk import AgentDeskService
from ctiserver.agents.following import DeskFollower
from ctiserver.agents.model import AgentBoard
from ctiserver.agents.seats import AgentSeats
from ctiserver.agents.store import AgentRecord
from ctiserver.calls.model import CallTracker
from ctiserver.pops.schemas import PopMessage
from ctiserver.pops.service import ScreenPopService
from ctiserver.telephony.events import ChannelCreated, QueueMemberPauseChanged
from tests.api_contract import ContractCheck
from tests.unit.test_agents import ALICE, CALLER, T, added, called, completed, connected

USER = 7
RECORD = AgentRecord(1, "1001", "王小明", USER, ())


class Hub:
    def __init__(self) -> None:
        self.sent: list[tuple[int, dict[str, Any]]] = []

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.sent.append((user_id, message))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [message for _, message in self.sent if message["type"] == kind]


class Directory:
    async def by_extension(self, extension: str) -> AgentRecord | None:
        return RECORD if extension == RECORD.extension else None

    async def for_user(self, user_id: int) -> AgentRecord | None:
        return RECORD if user_id == USER else None


class Asterisk:
    """Answers QueuePause as Asterisk does: the member's pause event, which the board follows."""

    def __init__(self, board: AgentBoard) -> None:
        self.board = board

    async def send_action(self, action: dict[str, str]) -> dict[str, str]:
        if action["Action"] == "QueuePause":
            paused = action["Paused"] == "true"
            self.board.handle(QueueMemberPauseChanged(
                T + 100, "support", action["Interface"], paused=paused,
                paused_reason=action.get("Reason") if paused else None,
            ))
        return {"Response": "Success"}


def desk_of(board: AgentBoard) -> tuple[AgentDeskService, Hub]:
    desk = AgentDeskService(
        Directory(), Asterisk(board), board, queues=["support"],  # type: ignore[arg-type]
        interface_pattern="PJSIP/{extension}", clock=lambda: T + 200,
    )
    seats = AgentSeats()
    seats.seat(ALICE, USER, "1001")
    hub = Hub()
    board.subscribe(DeskFollower(desk, seats, hub))
    return desk, hub


async def test_the_badge_follows_the_call_and_the_supervisors_pause() -> None:
    board = AgentBoard(wrapup_seconds={"support": 10})
    desk, hub = desk_of(board)
    board.handle(added(0))
    board.handle(called(5))
    board.handle(connected(7))
    board.handle(completed(40))
    board.tick(T + 50)
    pushed = hub.of("agent")
    assert [m["agent"]["state"] for m in pushed] == ["ready", "ringing", "on_call", "wrap_up", "ready"]
    assert {user for user, _ in hub.sent} == {USER}
    assert pushed[1]["agent"]["call_id"] == CALLER and pushed[0]["agent"]["queues"] == ["support"]
    contract = ContractCheck.of_server()  # the declarations the pages' fake server is held to
    assert contract.message_problem(pushed[0]) is None
    assert all(contract.message_problem(message) is None for message in pushed)
    assert contract.message_problem({**pushed[0], "agent": {**pushed[0]["agent"], "mood": "x"}})  # it can fail

    await desk.supervise("1001", "pause", "meeting", by="赵主管")
    last = hub.of("agent")[-1]["agent"]
    assert (last["state"], last["reason"], last["paused_by"]) == ("paused", "meeting", "赵主管")
    await desk.ready(USER)
    assert hub.of("agent")[-1]["agent"]["paused_by"] is None
    await desk.pause(USER, "lunch")  # their own pause says no one
    last = hub.of("agent")[-1]["agent"]
    assert (last["state"], last["reason"], last["paused_by"]) == ("paused", "lunch", None)

    count = len(hub.sent)
    board.handle(added(300))  # nothing the desk shows changed
    assert len(hub.sent) == count


async def test_nobody_seated_gets_nothing() -> None:
    board = AgentBoard()
    _, hub = desk_of(board)
    board.handle(added(0, interface="PJSIP/1009"))
    assert hub.sent == []


async def test_the_pop_lists_the_tickets_opened_on_its_call() -> None:
    """The cards were read when the number came, before the IVR opened its ticket: the pop reads
    the call's tickets as the phone rings, and the customer's card counts it as open."""
    ivr_ticket = {"id": 9, "number": "R20261206-0001", "status": "new", "customer_id": 1, "type": "repair"}
    asked: list[str] = []

    async def cards(number: str) -> list[dict[str, Any]]:
        return [{"id": 1, "name": "张伟", "open_tickets": [{"id": 3, "status": "dispatched"}], "recent_calls": []}]

    async def call_tickets(call_id: str) -> list[dict[str, Any]]:
        asked.append(call_id)
        return [ivr_ticket]

    board, calls = AgentBoard(), CallTracker()
    seats = AgentSeats()
    seats.seat(ALICE, USER, "1001")
    hub = Hub()
    pops = ScreenPopService(calls=calls, cards=cards, ivr_runs={}, seats=seats, call_tickets=call_tickets)
    pops.attach(hub)
    board.subscribe(pops.on_agent_update)
    calls.subscribe(pops.on_call_update)
    calls.handle(ChannelCreated(at=T, uniqueid=CALLER, linkedid=CALLER, channel="PJSIP/trunk-1",
                                caller_number="13800138000", caller_name=None, context="hotline",
                                exten="4008001234", state="Ring"))
    board.handle(added(0))
    board.handle(called(5))
    for _ in range(20):
        if hub.of("pop"):
            break
        await asyncio.sleep(0.01)
    (ringing,) = hub.of("pop")
    assert asked == [CALLER]
    assert ringing["pop"]["tickets"] == [ivr_ticket]
    (card,) = ringing["pop"]["customers"]
    assert [t["id"] for t in card["open_tickets"]] == [9, 3]
    assert "tickets" in PopMessage.model_fields["pop"].annotation.model_fields  # type: ignore[union-attr]
    assert ContractCheck.of_server().message_problem(ringing) is not None  # the fakes above are no TICKETs
