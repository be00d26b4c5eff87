"""The ticket store's workflow on SQLite and PostgreSQL: concurrent moves (one wins), dispatch by
the customer's region (an IVR ticket too), scheduling, fields, the SLA watch's escalations
and breach, and migration 0012 on tickets stored before it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ctiserver.callbacks.store import CallbackRepository
from ctiserver.customers.store import CustomerRepository
from ctiserver.customers.tables import Customer, CustomerPhone
from ctiserver.dispatch.store import DispatchRepository
from ctiserver.ivr.engine.services import TicketRequest
from ctiserver.ivr.services import DbFlowServices
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.changes import Author
from ctiserver.tickets.escalation import SlaWatch
from ctiserver.tickets.listing import TicketFilter
from ctiserver.tickets.model.kinds import FieldsInvalid
from ctiserver.tickets.model.sla import SlaRules
from ctiserver.tickets.model.workflow import ReferenceRefused, TicketConflict, TransitionRefused
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.support.migrations import upgrade_to as _upgrade

CST = dt.timezone(dt.timedelta(hours=8))
MONDAY_9 = dt.datetime(2026, 9, 28, 9, 0, tzinfo=CST).astimezone(dt.UTC)
H = dt.timedelta(hours=1)
RULES = SlaRules.parse(
    sla=["* normal 10h 40h", "* urgent 2h 8h"], hours=["mon-fri 09:00-18:00"], holidays=[],
    timezone="Asia/Shanghai", escalate_at=[0.8, 1.0],
)


async def _url(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.create_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = await _url(request, tmp_path, "ctiserver_ticket_workflow")
    await upgrade_schema(url)
    database = Database(url)
    yield database
    await database.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    database = Database(url)
    yield database
    await database.close()


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def _customer(db: Database, province: str, city: str, level: str = "normal", phone: str = "") -> int:
    async with db.session() as session:
        customer = Customer(name="王芳", level=level, province=province, city=city)
        session.add(customer)
        await session.flush()
        if phone:
            session.add(CustomerPhone(customer_id=customer.id, number=phone, normalized=phone))
        await session.commit()
        return customer.id


async def _branches(db: Database) -> dict[str, int]:
    """Guangdong's branch, and Shenzhen's for repairs."""
    dispatch = DispatchRepository(db)
    users = UserRepository(db)
    manager = await users.add("gd-manager", "pw", "staff", department="repair")
    guangdong = await dispatch.add_branch("广东分公司", "广东省", None, manager.id)
    shenzhen = await dispatch.add_branch("深圳服务中心", "广东省", "深圳市")
    await dispatch.add_rule("repair", kind="repair", province="广东省", branch_id=guangdong.id)
    await dispatch.add_rule("repair", kind="repair", province="广东省", city="深圳市", branch_id=shenzhen.id)
    return {"guangdong": guangdong.id, "shenzhen": shenzhen.id, "manager": manager.id}


async def test_two_concurrent_moves_one_wins(any_db: Database) -> None:
    tickets = TicketRepository(any_db)
    ticket = await tickets.open("repair", "洗衣机漏水", {}, customer_id=None)
    results = await asyncio.gather(
        tickets.move(ticket.id, "in_progress", version=ticket.version, by=Author(None, "a")),
        tickets.move(ticket.id, "cancelled", version=ticket.version, by=Author(None, "b")),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], TicketConflict), results
    assert "changed meanwhile" in str(lost[0])
    history = await tickets.events(ticket.id)
    assert [e.kind for e in history if e.kind in ("started", "cancelled")] == [
        "started" if won[0].status == "in_progress" else "cancelled"]
    assert won[0].version == ticket.version + 1
    # a stale version afterwards is refused too, and writes nothing
    with pytest.raises(TicketConflict):
        await tickets.update_fields(ticket.id, {}, version=ticket.version)
    assert len(await tickets.events(ticket.id)) == len(history)


def _repositories(db: Database) -> dict[str, Any]:
    """The services a ``DbFlowServices`` is handed (the server hands down its own)."""
    return {"customers": CustomerRepository(db), "tickets": TicketRepository(db), "callbacks": CallbackRepository(db)}


async def test_ivr_repair_ticket_goes_to_the_branch_of_the_callers_region(db: Database, tmp_path: Path) -> None:
    branches = await _branches(db)
    shenzhen = await _customer(db, "广东省", "深圳市", phone="13800138000")
    guangzhou = await _customer(db, "广东省", "广州市")
    services = DbFlowServices(db, voicemail_host_dir=tmp_path, voicemail_asterisk_dir="/vm", **_repositories(db))
    number = await services.open_ticket(TicketRequest(
        type="repair", summary="报修：空调", fields={"product": "空调"}, caller_number="13800138000",
        customer_id=shenzhen, call_id="1.1", flow_path=["start", "repair_ticket"],
    ))
    tickets = TicketRepository(db)
    ticket = await tickets.get_by_number(number)
    assert ticket is not None
    assert (ticket.status, ticket.department, ticket.branch_id) == ("dispatched", "repair", branches["shenzhen"])
    created, dispatched = await tickets.events(ticket.id)
    assert (created.actor, created.user_id) == ("ivr", None)
    assert dispatched.payload["branch_id"] == branches["shenzhen"] and dispatched.payload["city"] == "深圳市"
    other = await tickets.open("repair", "冰箱不冷", {}, customer_id=guangzhou)
    assert other.branch_id == branches["guangdong"]
    complaint = await tickets.open("complaint", "态度差", {}, customer_id=guangzhou)
    assert (complaint.department, complaint.branch_id) == ("complaint", None)


async def test_dispatch_schedule_and_fields(db: Database) -> None:
    branches = await _branches(db)
    users = UserRepository(db)
    engineer = await users.add("eng1", "pw", "staff", department="repair", branch_id=branches["shenzhen"])
    agent = await users.add("agent9", "pw", "agent")
    clock = Clock(MONDAY_9)
    tickets = TicketRepository(db, clock=clock, sla=RULES)
    ticket = await tickets.open("repair", "空调不制冷", {"fault_code": "E1"}, customer_id=None)
    assert ticket.branch_id is None
    ticket = await tickets.dispatch(ticket.id, "repair", branches["shenzhen"], version=1, by=Author(agent.id, "agent9"))
    assert (ticket.status, ticket.branch_id, ticket.version) == ("dispatched", branches["shenzhen"], 2)
    start, end = MONDAY_9 + 24 * H, MONDAY_9 + 26 * H
    elsewhere = await users.add("eng2", "pw", "staff", department="repair", branch_id=branches["guangdong"])
    # the engineer must be staff of the ticket's department and branch, whichever way it is set
    for wrong, said in ((agent.id, "not staff"), (elsewhere.id, "not staff"), (999999, "no user 999999")):
        with pytest.raises(ReferenceRefused, match=said):
            await tickets.schedule(ticket.id, start, end, wrong)
        with pytest.raises(ReferenceRefused, match=said):
            await tickets.update_fields(ticket.id, {"engineer_id": wrong})
        with pytest.raises(ReferenceRefused, match=said):
            await tickets.update_fields(ticket.id, {"engineer_id": str(wrong)})
    assert (await tickets.get(ticket.id)).engineer_id is None  # type: ignore[union-attr]
    ticket = await tickets.schedule(ticket.id, start, end, engineer.id, version=2)
    assert (ticket.status, ticket.engineer_id, ticket.appointment_start) == ("scheduled", engineer.id, start)
    assert ticket.fields["engineer_id"] == engineer.id and ticket.responded_at == MONDAY_9
    ticket = await tickets.schedule(ticket.id, start + H, end + H, engineer.id, note="客户改期")
    assert ticket.status == "scheduled" and ticket.appointment_end == end + H
    ticket = await tickets.update_fields(ticket.id, {"serial": "SN9", "fault_code": None}, version=ticket.version)
    assert ticket.fields.get("serial") == "SN9" and "fault_code" not in ticket.fields
    with pytest.raises(FieldsInvalid):
        await tickets.update_fields(ticket.id, {"severity": "high"})
    with pytest.raises(TransitionRefused, match="schedule action"):
        await tickets.move(ticket.id, "scheduled")
    history = await tickets.events(ticket.id)
    assert [(e.kind, e.from_status, e.status) for e in history] == [
        ("created", None, "new"), ("dispatched", "new", "dispatched"),  # by the rules, to the department
        ("dispatched", "dispatched", "dispatched"),  # by hand, to the branch
        ("scheduled", "dispatched", "scheduled"), ("scheduled", "scheduled", "scheduled"),
        ("fields", "scheduled", "scheduled"),
    ]
    assert (history[1].user_id, history[1].actor) == (None, "dispatch")
    assert history[2].user_id == agent.id and history[2].actor == "agent9"
    assert history[2].payload["before"] == {"department": "repair", "branch_id": None}
    assert history[4].note == "客户改期" and history[4].payload["before"]["engineer_id"] == engineer.id
    assert history[5].payload == {"changed": {"serial": "SN9", "fault_code": None},
                                  "before": {"serial": None, "fault_code": "E1"}}


async def test_sla_watch_escalates_each_level_once_and_records_the_breach(any_db: Database) -> None:
    branches = await _branches(any_db)
    customer = await _customer(any_db, "广东省", "广州市")
    vip = await _customer(any_db, "广东省", "广州市", level="vip")
    clock = Clock(MONDAY_9)
    tickets = TicketRepository(any_db, clock=clock, sla=RULES)
    ticket = await tickets.open("repair", "热水器不加热", {}, customer_id=customer)
    urgent = await tickets.open("repair", "VIP 报修", {}, customer_id=vip)
    assert (ticket.urgency, urgent.urgency) == ("normal", "urgent")
    told: list[dict[str, Any]] = []
    watch = SlaWatch(any_db, RULES, clock, told=told.append)
    assert await watch.check() == 0
    clock.now = MONDAY_9 + 8 * H  # 80 % of the normal ticket's 10 h response; the VIP's 2 h long gone
    assert await watch.check() == 1 + 3
    assert await watch.check() == 0  # once
    clock.now = MONDAY_9 + 10 * H  # after 18:00: still 9 business hours
    assert await watch.check() == 0
    clock.now = MONDAY_9 + 25 * H  # Tuesday 10:00: 10 h
    assert await watch.check() == 2
    events = [e for e in await tickets.events(ticket.id) if e.actor == "sla"]
    assert [(e.kind, e.payload.get("level"), e.payload.get("notify")) for e in events] == [
        ("escalated", 1, "branch_manager"), ("escalated", 2, "supervisors"), ("breached", None, None)]
    assert events[0].payload["user_id"] == branches["manager"]
    again = await tickets.get(ticket.id)
    assert again is not None and again.escalation_level == 2 and again.breached_at == MONDAY_9 + 25 * H
    assert again.version == ticket.version  # the SLA's events are not a user's change
    vip_events = [e.kind for e in await tickets.events(urgent.id) if e.actor == "sla"]
    assert vip_events == ["escalated", "escalated", "breached"]
    assert {t["kind"] for t in told} == {"escalated", "breached"} and len(told) == 6
    # escalated and urgent first
    listed = await tickets.search(TicketFilter())
    assert [t.id for t in listed] == [urgent.id, ticket.id]


async def test_a_waiting_ticket_is_not_escalated(db: Database) -> None:
    clock = Clock(MONDAY_9)
    tickets = TicketRepository(db, clock=clock, sla=RULES)
    ticket = await tickets.open("repair", "等配件", {}, customer_id=None)
    await tickets.move(ticket.id, "in_progress")
    waiting = await tickets.move(ticket.id, "waiting_parts")
    assert waiting.due_at is None
    clock.now = MONDAY_9 + 200 * H
    assert await SlaWatch(db, RULES, clock).check() == 0
    resumed = await tickets.move(ticket.id, "in_progress")
    # the clock ran from 9:00 to 9:00 on Monday only: 40 h still to go, from now
    assert resumed.due_at is not None and resumed.due_at > clock.now


@pytest.fixture(params=["sqlite", "postgresql"])
async def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await _url(request, tmp_path, "ctiserver_migration_0011")


async def test_migration_maps_old_statuses_and_events(old_url: str) -> None:
    await _upgrade(old_url, "0008_recordings")
    db = Database(old_url)
    at = MONDAY_9.replace(tzinfo=None) if old_url.startswith("sqlite") else MONDAY_9
    try:
        async with db.session() as session:
            for n, status in enumerate(("open", "assigned", "resolved", "closed"), 1):
                await session.execute(text(
                    "INSERT INTO tickets (id, number, type, status, department, summary, fields, source,"
                    " created_at, updated_at) VALUES (:id, :number, 'repair', :status, 'repair', 's', '{}',"
                    " 'ivr', :at, :at)"), {"id": n, "number": f"R-{n}", "status": status, "at": at})
            for kind, status in (("created", "open"), ("status", "assigned"), ("status", "in_progress"),
                                 ("status", "resolved"), ("note", "resolved")):
                await session.execute(text(
                    "INSERT INTO ticket_events (ticket_id, at, kind, status) VALUES (3, :at, :kind, :status)"),
                    {"at": at, "kind": kind, "status": status})
            await session.commit()
        await _upgrade(old_url, "head")
        tickets = TicketRepository(db)
        found = [await tickets.get(n) for n in range(1, 5)]
        assert [(t.status, t.version) for t in found if t] == [
            ("new", 1), ("dispatched", 1), ("completed", 1), ("closed", 1)]
        history = await tickets.events(3)
        assert [(e.kind, e.from_status, e.status) for e in history] == [
            ("created", None, "new"), ("dispatched", "new", "dispatched"), ("started", "dispatched", "in_progress"),
            ("completed", "in_progress", "completed"), ("note", "completed", "completed")]
        assert all(e.payload == {} for e in history)
        closed = await tickets.move(3, "closed")
        assert closed.version == 2
        assert set(await DispatchRepository(db).departments()) == {"repair", "complaint", "installation", "support"}
    finally:
        await db.close()


async def test_move_names_its_author_by_user_id_and_actor(db: Database) -> None:
    tickets = TicketRepository(db)
    ticket = await tickets.open("repair", "回访", {}, customer_id=None)
    await tickets.move(ticket.id, "in_progress", version=ticket.version)
    done = await tickets.move(ticket.id, "completed", actor="survey", payload={"score": 5})
    *_, started, completed = await tickets.events(ticket.id)
    assert (started.user_id, started.actor) == (None, "system")
    assert (completed.actor, completed.payload, done.version) == ("survey", {"score": 5}, 3)
