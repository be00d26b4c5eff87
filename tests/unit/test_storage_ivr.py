"""IVR storage: tickets, callbacks, voicemail, flow versions, runs, surveys, DbFlowServices."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from ctiserver.callbacks.store import CallbackRepository
from ctiserver.customers.phones import normalize_phone
from ctiserver.customers.store import CustomerRepository, CustomerSummary
from ctiserver.customers.tables import Customer, CustomerPhone, Product
from ctiserver.ivr.engine.run import Event, FlowOutcome, FlowRun, Step
from ctiserver.ivr.engine.services import CallbackRequest, TicketRequest, VoicemailRequest
from ctiserver.ivr.services import DbFlowServices, safe_file_stem
from ctiserver.ivr.store import FlowVersionRepository, IvrRunRepository
from ctiserver.ivr.tables import CallSurvey
from ctiserver.ivr.voicemails import VoicemailRepository
from ctiserver.lab.demo import seed_demo
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.model.workflow import TicketError
from ctiserver.tickets.store import DEPARTMENT_BY_TYPE, TicketRepository
from ctiserver.users.tables import User
from tests.pg import PostgresServer, postgres_server  # noqa: F401  (fixture)

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
IVR_TABLES = {
    "tickets", "ticket_events", "ticket_counters", "callbacks", "voicemails",
    "flow_versions", "ivr_runs", "call_surveys",
}
#: 00:30 on 22 November 2026 in Beijing, still the 21st in UTC
LATE_NIGHT = dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.UTC)



@pytest.fixture(params=["sqlite", "postgresql"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The same tests on SQLite and on a real PostgreSQL (for concurrency semantics)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = await server.create_database("ctiserver_ivr_storage")
    await upgrade_schema(url)
    database = Database(url)
    yield database
    await database.close()


async def _customer(db: Database, name: str, phone: str, level: str = "normal") -> int:
    async with db.session() as session:
        customer = Customer(name=name, level=level, province="广东省", city="深圳市")
        session.add(customer)
        await session.flush()
        session.add(
            CustomerPhone(customer_id=customer.id, number=phone, normalized=normalize_phone(phone))
        )
        await session.commit()
        return customer.id


async def test_migration_creates_ivr_tables(db: Database) -> None:
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert IVR_TABLES <= tables


# -- customers -------------------------------------------------------------


async def test_find_by_phone_normalises_and_returns_every_match(db: Database) -> None:
    first = await _customer(db, "张伟", "+86 138-0013-8000", "vip")
    second = await _customer(db, "张伟的太太", "0086 138 0013 8000")
    found = await CustomerRepository(db).find_by_phone("013800138000")
    assert found == [
        CustomerSummary(first, "张伟", "vip", "广东省", "深圳市"),
        CustomerSummary(second, "张伟的太太", "normal", "广东省", "深圳市"),
    ]
    assert await CustomerRepository(db).find_by_phone("13999999999") == []
    assert await CustomerRepository(db).find_by_phone("anonymous") == []
    assert await CustomerRepository(db).get(first) == found[0]
    assert await CustomerRepository(db).get(first + 100) is None


# -- tickets ---------------------------------------------------------------


async def test_ticket_numbers_use_local_date_and_restart_each_day(db: Database) -> None:
    now = [LATE_NIGHT]
    tickets = TicketRepository(db, clock=lambda: now[0])
    customer = await _customer(db, "李娜", "13912345678")
    repair = await tickets.open(
        "repair", "空调不制冷", {"model": "KFR-35GW"}, customer_id=customer
    )
    complaint = await tickets.open("complaint", "师傅迟到", {}, customer_id=None)
    inquiry = await tickets.open("inquiry", "保修期多久", {}, customer_id=None)
    assert [repair.number, complaint.number, inquiry.number] == [
        "R20261122-0001", "C20261122-0002", "Q20261122-0003",
    ]
    now[0] = LATE_NIGHT + dt.timedelta(days=1)
    moving = await tickets.open("moving", "搬家移机", {}, customer_id=customer)
    installation = await tickets.open("installation", "新机安装", {}, customer_id=customer)
    assert [moving.number, installation.number] == ["M20261123-0001", "I20261123-0002"]

    # the migration's rules dispatch every kind to its department at once
    assert repair.status == "dispatched" and repair.source == "ivr" and repair.version == 1
    assert repair.fields == {"model": "KFR-35GW"} and repair.summary == "空调不制冷"
    assert repair.created_at == LATE_NIGHT and repair.completed_at is None
    assert await tickets.get(repair.id) == repair
    assert await tickets.get_by_number("R20261122-0001") == repair
    assert [t.number for t in await tickets.list_for_customer(customer)] == [
        installation.number, moving.number, repair.number,
    ]


async def test_concurrent_opens_get_distinct_numbers(any_db: Database) -> None:
    tickets = TicketRepository(any_db, clock=lambda: LATE_NIGHT)
    opened = await asyncio.gather(
        *(tickets.open("repair", f"报修 {i}", {}, customer_id=None) for i in range(20))
    )
    numbers = [t.number for t in opened]
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [f"R20261122-{n:04d}" for n in range(1, 21)]
    later = await tickets.open("inquiry", "咨询", {}, customer_id=None)
    assert later.number == "Q20261122-0021"


@pytest.mark.parametrize(("kind", "department"), sorted(DEPARTMENT_BY_TYPE.items()))
async def test_department_routing(db: Database, kind: str, department: str) -> None:
    ticket = await TicketRepository(db).open(kind, "s", {}, customer_id=None)
    assert ticket.department == department


def test_department_table() -> None:
    assert DEPARTMENT_BY_TYPE == {
        "repair": "repair", "complaint": "complaint", "installation": "installation",
        "moving": "installation", "removal": "installation", "inquiry": "support",
    }


async def test_unknown_type_or_source_is_refused(db: Database) -> None:
    tickets = TicketRepository(db)
    with pytest.raises(ValueError, match="unknown ticket type"):
        await tickets.open("refund", "s", {}, customer_id=None)
    with pytest.raises(ValueError, match="unknown ticket source"):
        await tickets.open("repair", "s", {}, customer_id=None, source="email")


async def test_ticket_linked_to_call_product_and_agent(db: Database) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    tickets = TicketRepository(db)
    zhang = (await CustomerRepository(db).find_by_phone("13800138000"))[0]
    async with db.session() as session:
        product = await session.scalar(select(Product).where(Product.customer_id == zhang.id))
        agent = await session.scalar(select(User).where(User.username == "agent1001"))
    assert product is not None and agent is not None
    ticket = await tickets.open(
        "repair", "冰箱异响", {"serial": product.serial or ""}, customer_id=zhang.id,
        product_id=product.id, call_linkedid="1714523400.9", source="agent", user_id=agent.id,
    )
    assert (ticket.product_id, ticket.created_by_user_id, ticket.source) == (
        product.id, agent.id, "agent",
    )
    assert await tickets.list_for_call("1714523400.9") == [ticket]
    assert await tickets.list_for_call("other") == []
    created, dispatched = await tickets.events(ticket.id)
    assert (created.kind, created.status, created.user_id) == ("created", "new", agent.id)
    assert (dispatched.kind, dispatched.from_status, dispatched.status, dispatched.user_id) == (
        "dispatched", "new", "dispatched", None,
    )


async def test_status_transitions_write_events(db: Database) -> None:
    tickets = TicketRepository(db)
    ticket = await tickets.open("repair", "洗衣机漏水", {}, customer_id=None)
    for status in ("in_progress", "waiting_parts", "in_progress", "completed"):
        ticket = await tickets.move(ticket.id, status, note=f"→ {status}")
    assert ticket.status == "completed" and ticket.completed_at is not None and ticket.version == 5
    ticket = await tickets.move(ticket.id, "return_visit")
    reopened = await tickets.move(ticket.id, "reopened", note="客户说还是漏")
    assert reopened.completed_at is None
    await tickets.move(ticket.id, "in_progress")
    await tickets.move(ticket.id, "completed")
    await tickets.add_note(ticket.id, "已回访")
    await tickets.move(ticket.id, "return_visit")
    closed = await tickets.move(ticket.id, "closed")
    assert closed.status == "closed" and closed.completed_at is not None and closed.closed_at is not None

    events = await tickets.events(ticket.id)
    assert [(e.kind, e.from_status, e.status) for e in events] == [
        ("created", None, "new"), ("dispatched", "new", "dispatched"),
        ("started", "dispatched", "in_progress"), ("waiting", "in_progress", "waiting_parts"),
        ("resumed", "waiting_parts", "in_progress"), ("completed", "in_progress", "completed"),
        ("return_visit", "completed", "return_visit"), ("reopened", "return_visit", "reopened"),
        ("started", "reopened", "in_progress"), ("completed", "in_progress", "completed"),
        ("note", "completed", "completed"), ("return_visit", "completed", "return_visit"),
        ("closed", "return_visit", "closed"),
    ]
    assert events[7].note == "客户说还是漏"
    assert all(e.at.tzinfo is not None for e in events)
    assert [e.id for e in events] == sorted(e.id for e in events)


# -- callbacks and voicemail -----------------------------------------------


async def test_callback_is_committed_and_listed_by_due_time(db: Database) -> None:
    callbacks = CallbackRepository(db)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    first = await callbacks.request(
        "13800138000", customer_id=None, call_linkedid="1.1", reason="夜间来电，请回电",
        due_at=later,
    )
    second = await callbacks.request("010-6552 8899", customer_id=None, call_linkedid=None,
                                     reason="IVR hotline: callback")
    assert (first.status, first.attempts, first.last_attempt_at) == ("pending", 0, None)
    assert second.due_at == second.missed_at

    other = Database(db.url)  # a fresh engine: the rows are on disk, not in a session
    try:
        assert await CallbackRepository(other).get(first.id) == first
        assert [c.id for c in await CallbackRepository(other).pending(10)] == [second.id, first.id]
        assert [c.id for c in await CallbackRepository(other).pending(1)] == [second.id]
    finally:
        await other.close()
    with pytest.raises(ValueError):
        await callbacks.request(" ", customer_id=None, call_linkedid=None, reason="r")


async def test_voicemail_saved(db: Database) -> None:
    voicemails = VoicemailRepository(db)
    saved = await voicemails.save(call_linkedid="1.2", path="/var/vm/1.2.wav", caller_number="110")
    assert saved.listened_at is None and saved.created_at.tzinfo is not None
    assert await voicemails.list_for_call("1.2") == [saved]


# -- flow versions ---------------------------------------------------------

V1 = "flow: hotline\nstart: welcome\n# 欢迎致电\n"
V2 = "flow: hotline\nstart: menu\n# 欢迎致电\n"


async def test_publish_numbers_diffs_and_keeps_one_active(db: Database) -> None:
    versions = FlowVersionRepository(db)
    assert await versions.active("hotline") is None
    one = await versions.publish("hotline", V1, "aaa111", "file:hotline.yaml")
    assert (one.number, one.active, one.diff, one.note) == (1, True, None, None)
    two = await versions.publish("hotline", V2, "bbb222", "admin", note="新菜单")
    assert (two.number, two.active, two.note) == (2, True, "新菜单")
    assert two.diff is not None
    assert "--- hotline v1 (aaa111)" in two.diff and "+++ hotline v2 (bbb222)" in two.diff
    assert "-start: welcome" in two.diff and "+start: menu" in two.diff
    assert " # 欢迎致电" in two.diff

    assert await versions.publish("hotline", V2, "bbb222", "someone else") == two
    back = await versions.publish("hotline", V1, "aaa111", "admin", note="rollback to version 1")
    assert back.number == 3 and back.source == V1
    await versions.publish("ivr-en", "flow: ivr-en\n", "ccc333", "admin")

    listed = await versions.list("hotline")
    assert [(v.number, v.active) for v in listed] == [(3, True), (2, False), (1, False)]
    assert await versions.active("hotline") == back
    assert await versions.get("hotline", 2) == listed[1]
    assert await versions.get("hotline", 9) is None
    assert await versions.flows() == ["hotline", "ivr-en"]
    assert (await versions.active("ivr-en")) is not None


async def test_concurrent_publishes_leave_one_active(any_db: Database) -> None:
    versions = FlowVersionRepository(any_db)
    await asyncio.gather(
        *(versions.publish("hotline", f"# v{i}\n", f"hash{i}", "admin") for i in range(6))
    )
    listed = await versions.list("hotline")
    assert sorted(v.number for v in listed) == [1, 2, 3, 4, 5, 6]
    assert [v.active for v in listed].count(True) == 1
    assert listed[0].active


# -- IVR runs and surveys --------------------------------------------------


async def test_ivr_run_saved_with_chinese_variables(db: Database) -> None:
    started = dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    run = FlowRun(
        flow_name="hotline",
        flow_version="aaa111",
        variables={"customer_name": "张伟", "customer_region": "北京市", "ticket_id": "R1"},
        path=[
            Step("welcome", "play", 0.0, next="menu", events=[Event("say", "您好")]),
            Step("menu", "menu", 1.25, digits="1", result="selected", next="queue"),
            Step("queue", "queue", 4.5, result="repair"),
        ],
        outcome=FlowOutcome("queue", queue="repair", priority=5, timeout=300),
        ended_by_hangup=False,
        started_at=started,
    )
    runs = IvrRunRepository(db)
    run_id = await runs.save(run, call_linkedid="1714523400.1", uniqueid="1714523400.2",
                             flow_version_number=2)
    hung_up = FlowRun("hotline", "aaa111", {}, [], None, True, None, error="boom")
    await runs.save(hung_up, call_linkedid="1714523400.1", uniqueid="u", flow_version_number=2)

    first, second = await runs.list_for_call("1714523400.1")
    assert first.id == run_id
    assert (first.flow, first.flow_version, first.flow_version_number) == ("hotline", "aaa111", 2)
    assert first.variables["customer_name"] == "张伟"
    assert first.path == [
        {"node": "welcome", "kind": "play", "digits": None, "result": None, "at": 0.0,
         "events": [{"kind": "say", "detail": "您好", "tag": None}]},
        {"node": "menu", "kind": "menu", "digits": "1", "result": "selected", "at": 1.25, "events": []},
        {"node": "queue", "kind": "queue", "digits": None, "result": "repair", "at": 4.5, "events": []},
    ]
    assert first.outcome == {
        "action": "queue", "queue": "repair", "priority": 5, "timeout": 300, "after": None,
        "transfer_to": None, "overflow_queue": None,
    }
    assert first.started_at == started and first.ended_at >= started
    assert (first.ended_by_hangup, first.error) == (False, None)
    assert (second.outcome, second.ended_by_hangup, second.error) == (None, True, "boom")
    assert await runs.list_for_call("nothing") == []


async def test_survey_scores(db: Database) -> None:
    runs = IvrRunRepository(db)
    saved = await runs.record_survey("1.1", 5)
    assert (saved.call_linkedid, saved.score) == ("1.1", 5)
    for bad in (0, 6, True):
        with pytest.raises(ValueError):
            await runs.record_survey("1.1", bad)
    assert [s.score for s in await runs.surveys_for_call("1.1")] == [5]
    async with db.session() as session:
        session.add(CallSurvey(call_linkedid="1.1", score=9))
        with pytest.raises(IntegrityError):
            await session.commit()


# -- DbFlowServices ----------------------------------------------------------
def _repositories(db: Database) -> dict[str, Any]:
    """The services a ``DbFlowServices`` is handed (the server hands down its own)."""
    return {"customers": CustomerRepository(db), "tickets": TicketRepository(db), "callbacks": CallbackRepository(db)}



async def test_db_flow_services_end_to_end(db: Database, tmp_path: Path) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    services = DbFlowServices(
        db, voicemail_host_dir=tmp_path / "vm", voicemail_asterisk_dir="/var/spool/cti/vm", **_repositories(db)
    )
    match = await services.lookup_customer("+86 138-0013-8000")
    assert match is not None
    assert (match.name, match.level, match.region) == ("张伟", "vip", "北京市")
    assert await services.lookup_customer("13999999999") is None

    number = await services.open_ticket(TicketRequest(
        type="repair", summary="空调不制冷", fields={"model": "KFR-35GW/BP3DN8Y"},
        caller_number="13800138000", customer_id=match.id, call_id="1714523400.1",
        flow_path=["welcome", "lookup", "menu", "repair_ticket"],
    ))
    tickets = TicketRepository(db)
    (ticket,) = await tickets.list_for_call("1714523400.1")
    assert ticket.number == number and number.startswith("R")
    assert (ticket.customer_id, ticket.department, ticket.source) == (match.id, "repair", "ivr")
    assert ticket.fields == {"model": "KFR-35GW/BP3DN8Y", "caller_number": "13800138000"}
    assert [t.number for t in await tickets.list_for_customer(match.id)] == [number]

    callback_id = await services.request_callback(
        CallbackRequest("13800138000", match.id, "1714523400.1", "非工作时间来电")
    )
    callback = await CallbackRepository(db).get(int(callback_id))
    assert callback is not None and callback.customer_id == match.id
    assert callback.reason == "非工作时间来电" and callback.status == "pending"

    host, asterisk = services.voicemail_path("1714523400.1")
    assert host == str(tmp_path / "vm" / "1714523400.1")
    assert asterisk == "/var/spool/cti/vm/1714523400.1"
    Path(f"{host}.wav").write_bytes(b"RIFF")
    voicemail_id = await services.save_voicemail(
        VoicemailRequest(f"{host}.wav", "13800138000", match.id, "1714523400.1")
    )
    (voicemail,) = await VoicemailRepository(db).list_for_call("1714523400.1")
    assert str(voicemail.id) == voicemail_id and voicemail.path == f"{host}.wav"
    second_host, second_asterisk = services.voicemail_path("1714523400.1")
    assert second_host.endswith("1714523400.1-2") and second_asterisk.endswith("1714523400.1-2")

    await services.record_survey("1714523400.1", 4)
    assert [s.score for s in await IvrRunRepository(db).surveys_for_call("1714523400.1")] == [4]


async def test_a_callback_requested_before_identification_is_linked_to_the_customer(
    db: Database, tmp_path: Path
) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    services = DbFlowServices(db, voicemail_host_dir=tmp_path, voicemail_asterisk_dir="/vm", **_repositories(db))
    known = await services.request_callback(CallbackRequest("+86 138 0013 8000", None, "c1", "closed"))
    unknown = await services.request_callback(CallbackRequest("13999999999", None, "c2", "closed"))
    zhang = await services.lookup_customer("13800138000")
    assert zhang is not None
    assert (await CallbackRepository(db).get(int(known))).customer_id == zhang.id
    assert (await CallbackRepository(db).get(int(unknown))).customer_id is None


@pytest.mark.parametrize(
    ("call_id", "stem"),
    [
        ("1714523400.1", "1714523400.1"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "call"),
        ("", "call"),
        ("a b/c\\d:电话", "a_b_c_d___"),
    ],
)
def test_voicemail_file_names_are_safe(
    db: Database, call_id: str, stem: str, tmp_path: Path
) -> None:
    assert safe_file_stem(call_id) == stem
    services = DbFlowServices(db, voicemail_host_dir=tmp_path / "vm", voicemail_asterisk_dir="/vm", **_repositories(db))
    host, asterisk = services.voicemail_path(call_id)
    assert Path(host).parent == tmp_path / "vm" and asterisk == f"/vm/{stem}"


async def test_concurrent_changes_of_one_ticket_never_fail_with_a_locked_database(any_db: Database) -> None:
    """Each change reads the ticket then writes: under SQLite WAL a transaction that has read
    cannot start writing once another writer committed ("database is locked", at once)."""
    tickets = TicketRepository(any_db)
    ticket = await tickets.open("repair", "洗衣机漏水", {}, customer_id=None)
    notes = [tickets.add_note(ticket.id, f"第{n}次回访") for n in range(20)]
    moves = [tickets.move(ticket.id, "cancelled"), tickets.move(ticket.id, "in_progress")]
    results = await asyncio.gather(*notes, *moves, return_exceptions=True)
    problems = [r for r in results if isinstance(r, Exception) and not isinstance(r, TicketError)]
    assert problems == []
    events = await tickets.events(ticket.id)
    assert sum(1 for e in events if e.kind == "note") == 20
    final = await tickets.get(ticket.id)
    assert final is not None and final.status in ("cancelled", "in_progress")
    assert sum(1 for e in events if e.kind in ("cancelled", "started")) == 1
