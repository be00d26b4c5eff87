"""Return visits on a real database: one visit per completion, made by the feed from the
tickets' events with a durable cursor (a restart misses none and makes none twice), the
ticket moved to return_visit, the score closing or reopening it (a complaint for the
worst), calls claimed before the Originate with digits only, retries, unreached, and an
attempt left in flight by a crash failed, never redialled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from panoramisk.message import Message

from ctiserver.customers.store import CustomerRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.telephony.ami.actions import AmiActionFailed
from ctiserver.telephony.events import ChannelHungUp, DialEnded
from ctiserver.tickets.changes import Author
from ctiserver.tickets.infos import TicketInfo
from ctiserver.tickets.store import TicketRepository
from ctiserver.visits.dialer import VisitDialer
from ctiserver.visits.model import VisitPolicy, VisitRefused
from ctiserver.tickets import EventFeed
from ctiserver.visits.service import VisitService
from ctiserver.visits.store import VisitRepository
from ctiserver.visits.views import VisitInfo

T = 1_764_036_000.0
POLICY = VisitPolicy(max_attempts=2, retry_min=60, retry_max=60)
AGENT = Author(None, "agent1001")


class FakeAmi:
    def __init__(self, store: VisitRepository, channels: list[dict[str, str]] | None = None) -> None:
        self.store = store
        self.sent: list[dict[str, Any]] = []
        self.claimed_first: list[bool] = []
        self.channels = channels or []
        self.records_asked = 0

    async def send_action(self, action: dict[str, Any]) -> dict[str, str]:
        if action["Action"] == "Originate":  # the attempt is in the database before the Originate
            self.claimed_first.append(any(a.channel_id == action["ChannelId"] for a in await self.store.in_flight()))
        self.sent.append(action)
        return {"Response": "Success"}

    async def send_list_action(self, action: dict[str, Any]) -> list[dict[str, str]]:
        if action["Action"] == "DBGet":  # no record: the customer never answered
            self.records_asked += 1
            raise AmiActionFailed(Message({"Response": "Error", "Message": "Database entry not found"}))
        return [{"Event": "CoreShowChannel", **c} for c in self.channels]

    async def wait_ready(self, timeout: float) -> None:
        return None


def _service(db: Database, now: list[float], server: str = "s1") -> tuple[VisitService, list[VisitInfo]]:
    changed: list[VisitInfo] = []
    store = VisitRepository(db, POLICY, server=server)
    tickets = TicketRepository(db)
    return VisitService(db, store, tickets, EventFeed(db), clock=lambda: now[0], changed=changed.append), changed


async def _completed(db: Database, phone: str = "13800138000") -> TicketInfo:
    customer = await CustomerRepository(db).create("张伟", phone)
    tickets = TicketRepository(db)
    ticket = await tickets.open("repair", "空调不制冷", {"caller_number": phone}, customer_id=customer.id)
    if ticket.status == "new":
        ticket = await tickets.dispatch(ticket.id, "repair", None)
    await tickets.move(ticket.id, "in_progress")
    return await tickets.move(ticket.id, "completed")


async def test_each_completion_makes_one_visit_and_moves_the_ticket_to_return_visit(db: Database) -> None:
    now = [T]
    service, changed = _service(db, now)
    ticket = await _completed(db)
    assert await service.feed() >= 1
    (visit,) = await service.store.search()
    assert (visit.ticket_id, visit.status, visit.number, visit.attempts) == (ticket.id, "pending", "13800138000", 0)
    assert visit.customer_name == "张伟" and visit.ticket_number == ticket.number
    assert changed and changed[0].id == visit.id
    moved = await service.tickets.get(ticket.id)
    assert moved is not None and moved.status == "return_visit"
    assert await service.feed() == 0  # the cursor is past it
    # a server started afresh reads from the stored cursor: nothing twice
    again, _ = _service(db, now)
    assert await again.feed() == 0
    assert len(await again.store.search()) == 1


async def test_a_completion_read_again_after_a_crash_is_still_one_visit(db: Database) -> None:
    now = [T]
    service, _ = _service(db, now)
    ticket = await _completed(db)
    (event,) = await service.tickets.events_after(0, kinds=("completed",))
    # the server made the visit, then stopped before moving the ticket and advancing the cursor
    await service.store.create(event_id=event.id, ticket_id=ticket.id, customer_id=None, number="1",
                               language=None, now=T)
    assert await service.cursor() < event.id
    restarted, _ = _service(db, now)
    await restarted.feed()
    assert len(await restarted.store.search()) == 1
    assert await restarted.cursor() >= event.id
    moved = await restarted.tickets.get(ticket.id)
    assert moved is not None and moved.status == "return_visit"


@pytest.mark.parametrize(("score", "status", "complaint"), [(5, "closed", False), (4, "closed", False),
                                                             (2, "reopened", False), (1, "reopened", True)])
async def test_the_score_closes_or_reopens_the_ticket(db: Database, score: int, status: str, complaint: bool) -> None:
    now = [T]
    service, _ = _service(db, now)
    ticket = await _completed(db)
    await service.feed()
    (visit,) = await service.store.search()
    done = await service.record(visit.id, score, "师傅很专业", by=AGENT)
    assert (done.status, done.score, done.remarks) == ("done", score, "师傅很专业")
    after = await service.tickets.get(ticket.id)
    assert after is not None and after.status == status
    history = await service.tickets.events(ticket.id)
    assert history[-1].kind == status and history[-1].payload["score"] == score
    if complaint:
        assert done.complaint_ticket_id is not None
        opened = await service.tickets.get(done.complaint_ticket_id)
        assert opened is not None and opened.type == "complaint"
        assert opened.fields["related_ticket"] == ticket.number and opened.customer_id == ticket.customer_id
    else:
        assert done.complaint_ticket_id is None
    with pytest.raises(VisitRefused):  # once only
        await service.record(visit.id, 5, None, by=AGENT)


async def test_a_ticket_closed_by_hand_cancels_its_visit_and_refuses_a_score(db: Database) -> None:
    now = [T]
    service, _ = _service(db, now)
    ticket = await _completed(db)
    await service.feed()
    (visit,) = await service.store.search()
    await service.tickets.move(ticket.id, "closed", by=Author(None, "supervisor"))
    await service.feed()
    cancelled = await service.store.get(visit.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    with pytest.raises(VisitRefused):
        await service.record(visit.id, 5, None, by=AGENT)


async def _settle(dialer: VisitDialer) -> None:
    """The outcomes of the events handled so far are stored (waited for, not guessed by a sleep)."""
    await dialer.settled()


def _settings(auto: bool = False) -> Settings:
    return Settings().replace(
        hotline={"agent_interface": "Local/{extension}@lab-agents/n", "callback_interface": "Local/{number}@c/n"},
        visits={"auto_call": auto},
    )


async def test_click_to_call_claims_first_rings_the_agent_and_retries_until_unreached(db: Database) -> None:
    now = [T]
    service, _ = _service(db, now)
    await _completed(db, phone="+86 138-0013-8000")
    await service.feed()
    (visit,) = await service.store.search()
    ami = FakeAmi(service.store)
    dialer = VisitDialer(service, ami, _settings(), None, clock=lambda: now[0])  # type: ignore[arg-type]
    calling = await dialer.call_by_agent(visit.id, "1001", AGENT)
    assert calling.status == "calling" and calling.call_linkedid is not None
    (action,) = ami.sent
    assert ami.claimed_first == [True]
    assert (action["Channel"], action["Context"], action["Exten"]) == ("Local/1001@lab-agents/n", "visit", "8613800138000")
    assert action["ChannelId"] == calling.call_linkedid
    notes = [e for e in await service.tickets.events(visit.ticket_id) if e.kind == "note"]
    assert notes and calling.call_linkedid in (notes[-1].note or "")
    with pytest.raises(VisitRefused):  # being called: not twice
        await dialer.call_by_agent(visit.id, "1002", AGENT)
    dialer.handle(DialEnded(T + 5, action["ChannelId"], action["ChannelId"], "Local/1001", "", "", "NOANSWER"))
    await _settle(dialer)
    retry = await service.store.get(visit.id)
    assert retry is not None and (retry.status, retry.attempts) == ("pending", 1)
    assert retry.next_at is not None and retry.next_at.timestamp() == T + 60
    second = await dialer.call_by_agent(visit.id, "1001", AGENT)
    dialer.handle(ChannelHungUp(T + 9, str(second.call_linkedid), str(second.call_linkedid), "Local/1001", 16, "x"))
    await _settle(dialer)
    missed = await service.store.get(visit.id)
    assert missed is not None and (missed.status, missed.attempts) == ("pending", 1)  # the agent missed it
    third = await dialer.call_by_agent(visit.id, "1001", AGENT)
    dialer.handle(DialEnded(T + 20, str(third.call_linkedid), str(third.call_linkedid), "L", "", "", "BUSY"))
    await _settle(dialer)
    gone = await service.store.get(visit.id)
    assert gone is not None and (gone.status, gone.attempts) == ("unreached", 2)


async def test_automatic_calls_go_to_due_visits_and_a_crash_fails_the_attempt(db: Database) -> None:
    now = [T]
    service, _ = _service(db, now)
    await _completed(db)
    await service.feed()
    (visit,) = await service.store.search()
    ami = FakeAmi(service.store)
    dialer = VisitDialer(service, ami, _settings(auto=True), None, clock=lambda: now[0])  # type: ignore[arg-type]
    now[0] = visit.created_at.timestamp()
    assert await dialer.tick() == 1
    (action,) = ami.sent
    assert (action["Channel"], action["Context"], action["Exten"]) == ("Local/13800138000@c/n", "visit-survey", "s")
    assert ami.claimed_first == [True]
    assert await dialer.tick() == 0  # being called
    dialer.handle(ChannelHungUp(T + 30, action["ChannelId"], action["ChannelId"], "Local/x;1", 17, "busy"))
    await _settle(dialer)
    busy = await service.store.get(visit.id)
    assert busy is not None and (busy.status, busy.attempts) == ("pending", 1)
    assert await dialer.tick() == 0  # not due before the back-off
    now[0] += 61
    assert await dialer.tick() == 1
    # the server dies with the attempt in flight; the new one finds the channel gone and no
    # record of an answer: unanswered
    restarted, _ = _service(db, now)
    ami2 = FakeAmi(restarted.store)
    fresh = VisitDialer(restarted, ami2, _settings(auto=True), None, clock=lambda: now[0])  # type: ignore[arg-type]
    await fresh.resolve(own=True)
    assert ami2.sent == []  # nothing dialled again
    after = await restarted.store.get(visit.id)
    assert after is not None and (after.status, after.attempts) == ("unreached", 2)
    assert ami2.records_asked == 1, "Asterisk's record was read"


async def test_post_call_surveys_carry_their_calls_agent_and_tickets(db: Database) -> None:
    import datetime as dt

    from ctiserver.calls.tables import CallRow
    from ctiserver.ivr.store import IvrRunRepository
    from ctiserver.visits.surveys import SurveyReport, TicketFeedback, summary

    tickets = TicketRepository(db)
    opened = await tickets.open("repair", "漏水", {}, customer_id=None, call_linkedid="call-1")
    at = dt.datetime.fromtimestamp(T, dt.UTC)
    async with db.session() as session:
        session.add(CallRow(linkedid="call-1", caller_number="13800138000", started_at=at, agent="1001",
                            queue="repair"))
        session.add(CallRow(linkedid="call-2", caller_number="13900139000", started_at=at, agent="1002"))
        await session.commit()
    runs = IvrRunRepository(db)
    await runs.record_survey("call-1", 2)
    await runs.record_survey("call-2", 5)
    report = SurveyReport(db)
    (mine,) = await report.search(agent="1001")
    assert (mine["call_linkedid"], mine["score"], mine["agent"], mine["ticket_ids"]) == ("call-1", 2, "1001", [opened.id])
    everyone = await report.search()
    assert summary(everyone)["count"] == 2 and summary(everyone)["average"] == 3.5
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # the scores are stamped now
    assert await report.search(start=tomorrow) == []
    assert len(await report.search(end=tomorrow)) == 2
    said = await TicketFeedback(report, VisitRepository(db)).of(opened.id, "call-1")
    assert [s["score"] for s in said["surveys"]] == [2] and said["visits"] == []


async def test_an_agents_click_to_call_is_placed_on_a_node_that_does_not_hold_the_dialling_duty(
    db: Database,
) -> None:
    """The automatic calls run on one node (the lease visit-dialer); every node keeps its
    server's dialling lease (keep_alive), so an agent's click to call on any node is
    placed, and its attempt is not taken for a dead server's."""
    now = [T]
    service, _ = _service(db, now, server="node-b")
    await _completed(db)
    await service.feed()
    (visit,) = await service.store.search()
    ami = FakeAmi(service.store)
    dialer = VisitDialer(service, ami, _settings(), None, clock=lambda: now[0],  # type: ignore[arg-type]
                         leases=DiallerLeases(db, "node-b", 9))
    alive = asyncio.create_task(dialer.keep_alive())
    try:
        for _ in range(200):  # the lease is held once keep_alive has renewed it
            if dialer._watch.may_originate():
                break
            await asyncio.sleep(0.01)
        calling = await dialer.call_by_agent(visit.id, "1001", AGENT)
        assert [a["ChannelId"] for a in ami.sent] == [calling.call_linkedid]
        other, _ = _service(db, now, server="node-a")
        holder = VisitDialer(other, FakeAmi(other.store), _settings(), None, clock=lambda: now[0],  # type: ignore[arg-type]
                             leases=DiallerLeases(db, "node-a", 9))
        await holder.resolve()
        assert [a.channel_id for a in await other.store.in_flight()] == [calling.call_linkedid], \
            "node-b is alive: its attempt is its own to follow"
    finally:
        alive.cancel()
        await asyncio.gather(alive, return_exceptions=True)


async def test_an_agents_call_that_ended_while_the_ami_link_was_down_is_finished_from_asterisks_record(
    db: Database,
) -> None:
    now = [T]
    service, _ = _service(db, now)
    await _completed(db)
    await service.feed()
    (visit,) = await service.store.search()
    ami = FakeAmi(service.store)
    dialer = VisitDialer(service, ami, _settings(), None, clock=lambda: now[0])  # type: ignore[arg-type]
    await dialer.call_by_agent(visit.id, "1001", AGENT)
    now[0] = T + 5
    dialer.link_lost()
    dialer.link_back()  # the channel is gone, no record: the agent never answered
    await _settle(dialer)
    assert ami.records_asked == 1, "Asterisk's record was read"
    (attempt,) = await service.store.attempts(visit.id)
    assert attempt.outcome == "agent_missed"
    after = await service.store.get(visit.id)
    assert after is not None and (after.status, after.attempts) == ("pending", 0)
