"""Who may make which move of the ticket workflow (docs/visibility.md), in the pure model and
through the API; the one visibility rule of each record in the pure model; the live pushes
(a visit's change, a screen pop's calls) only to those who may see them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from ctiserver.callbacks import may_see_callback
from ctiserver.calls import call_as_seen, may_see_call
from ctiserver.customers import may_see_customer
from ctiserver.telephony.events import AgentCalled, CallerIdChanged
from ctiserver.tickets import ROLE_MOVES, MoveForbidden, TicketHolding, TicketViewer, check_role, may_see_ticket
from ctiserver.tickets.model.workflow import MOVES, engineer_fits
from ctiserver.tickets.store import TicketRepository
from ctiserver.visits import may_see_visit
from ctiserver.visits.push import VisitPush
from ctiserver.visits.store import VisitRepository
from ctiserver.workview.model import Holder, Place, sees
from tests.unit.test_screenpop import ALICE, CALL, agent_event, settle
from tests.unit.test_screenpop import setup as pop_setup
from tests.unit.test_visibility import Client, World, build, session_of, world  # noqa: F401 (world: a fixture)

#: spelled out here, independently of ROLE_MOVES: what each role may do
EXPECTED = {
    "agent": {"open", "note", "fields", "request_visit"},
    "staff": {"open", "note", "fields", "dispatch", "schedule", "start", "wait", "complete"},
    "supervisor": {"open", "note", "fields", "dispatch", "schedule", "start", "wait", "complete", "request_visit",
                   "close", "cancel", "reopen"},
}
EXPECTED["admin"] = EXPECTED["supervisor"]


@pytest.mark.parametrize("role", [*EXPECTED, "caller"])
@pytest.mark.parametrize("move", sorted(MOVES))
def test_the_moves_of_each_role(role: str, move: str) -> None:
    if move in EXPECTED.get(role, set()):
        check_role(role, move)
    else:
        with pytest.raises(MoveForbidden) as refused:
            check_role(role, move)
        assert refused.value.code == "ticket_move_forbidden" and role in str(refused.value)
    assert set(ROLE_MOVES) == set(EXPECTED)


def test_the_ticket_rule() -> None:
    sz = TicketHolding("repair", branch_id=2, engineer_id=None, created_by_user_id=11, customer_id=5)
    cases = [
        (TicketViewer(1, "supervisor"), {}, True),
        (TicketViewer(1, "admin"), {}, True),
        (TicketViewer(20, "staff", "repair", 2), {}, True),  # the branch's
        (TicketViewer(21, "staff", "repair", 3), {}, False),  # another branch's
        (TicketViewer(22, "staff", "repair", None), {}, True),  # the department's, every branch
        (TicketViewer(23, "staff", "complaint", 2), {}, False),  # another department
        (TicketViewer(24, "staff", None, None), {}, False),
        (TicketViewer(11, "agent", extension="1002"), {}, True),  # opened it
        (TicketViewer(12, "agent", extension="1001"), {}, False),
        (TicketViewer(12, "agent", extension="1001"), {"served": True}, True),  # took a call of the customer
        (TicketViewer(12, "agent", extension=None), {"served": True}, False),
        (TicketViewer(12, "agent", extension="1001", serving=frozenset({5})), {}, True),  # on the phone now
        (TicketViewer(12, "agent", extension="1001", serving=frozenset({6})), {}, False),
        (TicketViewer(11, "caller"), {}, False),
    ]
    for viewer, extra, want in cases:
        assert may_see_ticket(viewer, sz, **extra) is want, viewer
    engineered = TicketHolding("repair", branch_id=2, engineer_id=21)
    assert may_see_ticket(TicketViewer(21, "staff", "repair", 3), engineered)
    # the work view's live pushes follow the same rule
    for department in ("repair", "complaint", None):
        for branch in (2, 3, None):
            for engineer in (None, 21, 30):
                holder = Holder("repair", 2, engineer)
                place = Place(21, department, branch)
                viewer = TicketViewer(21, "staff", department, branch)
                assert sees(place, holder) is may_see_ticket(viewer, TicketHolding("repair", 2, engineer))


def test_the_other_records_rules() -> None:
    assert [may_see_customer(role, has_visible_ticket=False) for role in ("agent", "supervisor", "admin", "staff")] == [
        True, True, True, False]
    assert may_see_customer("staff", has_visible_ticket=True)
    assert not may_see_customer("caller", has_visible_ticket=True)
    call = {"id": "1.1", "agent": "1002", "queue": "support", "caller_number": "138"}
    assert call_as_seen(call, "supervisor", None) == call
    assert call_as_seen(call, "agent", "1002") == call
    assert call_as_seen(call, "agent", "1001") == {**call, "agent": None}
    assert call_as_seen(call, "agent", None) == {**call, "agent": None}
    assert call_as_seen(call, "staff", None) is None
    assert may_see_call("agent", "1002", "1002") and not may_see_call("agent", None, None)
    assert may_see_visit(ticket_visible=True) and not may_see_visit(ticket_visible=False)
    assert may_see_callback("supervisor", offered_to_them=False)
    assert may_see_callback("agent", offered_to_them=True) and not may_see_callback("agent", offered_to_them=False)
    assert not may_see_callback("staff", offered_to_them=True)


def test_the_engineer_of_a_ticket() -> None:
    assert engineer_fits("staff", "repair", 2, "repair", 2)
    assert engineer_fits("staff", "repair", None, "repair", 2)  # the department's, every branch
    assert engineer_fits("staff", "repair", 3, "repair", None)
    assert not engineer_fits("staff", "repair", 3, "repair", 2)
    assert not engineer_fits("staff", "complaint", 2, "repair", 2)
    assert not engineer_fits("agent", "repair", 2, "repair", 2)


async def as_user(world: World, user: str) -> tuple[Client, aiohttp.ClientSession]:
    http = await session_of(world, user)
    return Client(world, http), http


async def test_each_role_makes_its_moves_through_the_api(world: World) -> None:
    """Ticket a: David Zhang's, of the Shenzhen service centre, opened by agent1002."""
    path = f"/api/tickets/{world.tickets['a']}"
    ids = world.users
    window = {"start": "2030-01-01T09:00:00+08:00", "end": "2030-01-01T10:00:00+08:00"}
    steps: list[tuple[str, str, str, Any, int, str | None]] = [
        # user, method, route, body, status, what the answer says
        ("agent1002", "POST", "/notes", {"note": "客户催单"}, 200, None),
        ("agent1002", "PATCH", "", {"fields": {"serial": "SN42"}}, 200, None),
        ("agent1002", "PATCH", "", {"fields": {"engineer_id": ids["engineer-sz"]}}, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/schedule", window, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/status", {"status": "in_progress"}, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/status", {"status": "cancelled"}, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/dispatch", {"department": "repair"}, 403, None),
        ("engineer-sz", "POST", "/schedule", {**window, "engineer_id": ids["engineer-bj"]}, 422, "not staff"),
        ("engineer-sz", "POST", "/schedule", {**window, "engineer_id": ids["agent1002"]}, 422, "not staff"),
        ("engineer-sz", "POST", "/schedule", {**window, "engineer_id": 999999}, 422, "no user 999999"),
        ("engineer-sz", "PATCH", "", {"fields": {"engineer_id": ids["engineer-bj"]}}, 422, "not staff"),
        ("engineer-sz", "PATCH", "", {"fields": {"engineer_id": 999999}}, 422, "no user"),
        ("engineer-sz", "POST", "/dispatch", {"department": "repair", "branch_id": 999999}, 422, "no branch"),
        ("engineer-sz", "POST", "/schedule", {**window, "engineer_id": ids["engineer-sz"]}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "in_progress"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "waiting_parts"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "in_progress"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "completed"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "closed"}, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/status", {"status": "return_visit"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "reopened"}, 403, "ticket_move_forbidden"),
        ("agent1002", "POST", "/status", {"status": "reopened"}, 403, "ticket_move_forbidden"),
        ("supervisor", "POST", "/status", {"status": "reopened"}, 200, None),
        ("engineer-sz", "POST", "/status", {"status": "cancelled"}, 403, "ticket_move_forbidden"),
        ("supervisor", "POST", "/status", {"status": "cancelled"}, 200, None),
    ]
    sessions: dict[str, tuple[Client, aiohttp.ClientSession]] = {}
    try:
        for user, method, route, body, want, said in steps:
            if user not in sessions:
                sessions[user] = await as_user(world, user)
            status, answer = await sessions[user][0].call(method, path + route, body)
            assert status == want, (user, method, route, body, answer)
            if said is not None:
                assert said in (answer.get("code") or answer["error"]), answer
    finally:
        for _, http in sessions.values():
            await http.close()
    ticket = await TicketRepository(world.cti.db).get(world.tickets["a"])
    assert ticket is not None and (ticket.status, ticket.engineer_id) == ("cancelled", ids["engineer-sz"])


class Hub:
    def __init__(self, connected: set[tuple[int, str]]) -> None:
        self._connected = connected
        self.to_users: list[tuple[int, dict[str, Any]]] = []
        self.to_role: list[tuple[frozenset[str], dict[str, Any]]] = []

    def connected(self) -> set[tuple[int, str]]:
        return self._connected

    def to_roles(self, roles: Any, message: dict[str, Any]) -> None:
        self.to_role.append((frozenset(roles), message))

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.to_users.append((user_id, message))


async def test_a_visits_change_reaches_only_those_who_may_see_it(world: World) -> None:
    ids = world.users
    hub = Hub({(ids["agent1001"], "agent"), (ids["agent1002"], "agent"), (ids["supervisor"], "supervisor"),
               (ids["engineer-sz"], "staff")})
    push = VisitPush(hub, TicketRepository(world.cti.db))
    visits = VisitRepository(world.cti.db)
    for key in ("a", "b"):
        visit = await visits.get(world.visits[key])
        assert visit is not None
        push(visit)
    await asyncio.sleep(0)
    for _ in range(50):
        if len(hub.to_users) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # nothing more comes
    assert [(user, m["visit"]["id"]) for user, m in hub.to_users] == [
        (ids["agent1002"], world.visits["a"]), (ids["agent1001"], world.visits["b"])]
    bosses = frozenset({"supervisor", "admin"})
    assert [(roles, m["visit"]["id"]) for roles, m in hub.to_role] == [
        (bosses, world.visits["a"]), (bosses, world.visits["b"])]


async def test_a_pop_shows_the_agents_own_calls_whole_and_the_others_as_summaries() -> None:
    pops, board, calls, hub, _ = pop_setup()
    pops.seats.seat(ALICE, 1, "1001")
    card = {"id": 7, "name": "张伟", "open_tickets": [], "recent_calls": [
        {"id": "1.1", "agent": "1001", "queue": "support"}, {"id": "2.2", "agent": "1002", "queue": "support"}]}

    async def cards(number: str) -> list[dict[str, Any]]:
        return [card]

    pops._cards = cards
    calls.handle(CallerIdChanged(at=96.0, uniqueid=CALL, linkedid=CALL, channel="PJSIP/trunk-1",
                                 caller_number="13800138000", caller_name="张伟"))
    board.handle(agent_event(AgentCalled, ALICE, 98.0))
    await settle()
    (user, message), = hub.sent
    assert user == 1 and message["event"] == "ringing"
    assert message["pop"]["customers"][0]["recent_calls"] == [
        {"id": "1.1", "agent": "1001", "queue": "support"}, {"id": "2.2", "agent": None, "queue": "support"}]
    assert card["recent_calls"][1]["agent"] == "1002", "the shared card is not changed"
    assert pops.customers_on_desk(1) == frozenset({7}) and pops.customers_on_desk(2) == frozenset()


async def test_who_is_told_of_an_escalation_sees_the_ticket(world: World) -> None:
    """A branch manager is told of an escalation only if they may see the ticket (else the
    supervisors are): ``TicketRepository.user_sees``, which the SLA watch's push asks."""
    tickets = TicketRepository(world.cti.db)
    ids = world.users
    assert await tickets.user_sees(ids["engineer-sz"], world.tickets["a"])
    assert not await tickets.user_sees(ids["engineer-bj"], world.tickets["a"])
    assert await tickets.user_sees(ids["agent1001"], world.tickets["b"])
    assert not await tickets.user_sees(ids["agent1001"], world.tickets["a"])
    assert await tickets.user_sees(ids["supervisor"], world.tickets["a"])
    assert not await tickets.user_sees(999999, world.tickets["a"])


async def test_the_sql_form_and_the_predicate_agree(world: World) -> None:
    """``visible_to`` (the lists, every route) says what ``may_see_ticket`` says, for every user
    and ticket of the world (an agent's ``served``: a call of the ticket's customer they took)."""
    tickets = TicketRepository(world.cti.db)
    took = {"agent1001": "b", "agent1002": "a"}
    for user in ("agent1001", "agent1002", "engineer-sz", "engineer-bj", "supervisor", "admin"):
        user_id = world.users[user]
        role = "agent" if user.startswith("agent") else "staff" if user.startswith("engineer") else user
        viewer = await tickets.viewer(user_id, role)
        for key in ("a", "b"):
            ticket = await tickets.get(world.tickets[key])
            assert ticket is not None
            holding = TicketHolding(ticket.department, ticket.branch_id, ticket.engineer_id,
                                    ticket.created_by_user_id, ticket.customer_id)
            pure = may_see_ticket(viewer, holding, served=took.get(user) == key)
            assert await tickets.visible(ticket.id, viewer) is pure, (user, key)


def test_a_call_named_after_the_agent_as_a_queue_member_is_theirs() -> None:
    """A queue names its member after the agent when the desk signs them in, so the ``agent``
    of their calls may be their name, not their extension: either is theirs, nobody else's."""
    viewer = TicketViewer(7, "agent", extension="1001", agent_name="王小明")
    assert viewer.agent_ids == ("1001", "王小明")
    record = {"id": "c1", "agent": "王小明", "answered_at": "2026-12-06T08:00:00Z"}
    assert may_see_call("agent", viewer.agent_ids, "王小明")
    assert may_see_call("agent", viewer.agent_ids, "1001")
    assert not may_see_call("agent", viewer.agent_ids, "李红")
    assert call_as_seen(record, "agent", viewer.agent_ids) == record
    assert call_as_seen(record, "agent", ("1002", "李红"))["agent"] is None
    other = TicketViewer(8, "agent", extension="1002", agent_name="李红")
    ticket = TicketHolding(department="repair", customer_id=3)
    assert may_see_ticket(viewer, ticket, served=True)
    on_the_desk = TicketHolding(department="inquiry", call_linkedid="1.1")  # the IVR's, no customer
    assert may_see_ticket(TicketViewer(9, "agent", serving_calls=frozenset({"1.1"})), on_the_desk)
    assert not may_see_ticket(TicketViewer(9, "agent", serving_calls=frozenset({"1.2"})), on_the_desk)
    assert not may_see_ticket(TicketViewer(9, "agent"), ticket, served=True)
    assert other.agent_ids == ("1002", "李红")
