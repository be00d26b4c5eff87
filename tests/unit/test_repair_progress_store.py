"""The repair progress on the database: the IVR's services find a customer's open tickets (or
the one keyed in) through the tickets' face, with the product's name and the appointment in
the hotline's time zone, and record the customer's answer in the ticket's history (by the IVR,
pushed on the ticket bus like any change), never on a closed ticket."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ctiserver.callbacks.store import CallbackRepository
from ctiserver.customers.store import CustomerRepository
from ctiserver.customers.tables import Product
from ctiserver.ivr.engine.services import AppointmentAnswer
from ctiserver.ivr import load_flow
from ctiserver.ivr.dryrun import dry_run
from ctiserver.ivr.services import DbFlowServices, LookupOnlyServices
from ctiserver.lab.demo import seed_demo
from ctiserver.storage.database import Database
from ctiserver.tickets import bus_of
from ctiserver.tickets.model.workflow import TransitionRefused
from ctiserver.tickets.store import TicketRepository
from tests.staff import FAST_HASHER

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_the_ivr_reads_open_tickets_and_records_the_customers_answer(db: Database, tmp_path: Path) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    tickets = TicketRepository(db)
    services = DbFlowServices(db, voicemail_host_dir=tmp_path, voicemail_asterisk_dir="/vm",
                              customers=CustomerRepository(db), tickets=tickets, callbacks=CallbackRepository(db),
                              timezone="Asia/Shanghai")
    (li,) = await CustomerRepository(db).find_by_phone("13912345678")
    async with db.session() as session:
        washer = await session.scalar(select(Product.id).where(Product.customer_id == li.id))
    repair = await tickets.open("repair", "不脱水", {}, customer_id=li.id, product_id=washer)
    start = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
    repair = await tickets.schedule(repair.id, start, start + dt.timedelta(hours=2), None)
    inquiry = await tickets.open("inquiry", "问保修", {"product": "冰箱"}, customer_id=li.id)
    done = await tickets.open("complaint", "投诉", {}, customer_id=li.id)
    await tickets.move(done.id, "cancelled")

    found = await services.ticket_progress(customer_id=li.id, keyed=None)
    assert [t.number for t in found] == [inquiry.number, repair.number], "open ones, newest first"
    assert (found[1].product, found[1].status) == ("washing_machine XQG100-BD14376LU1", "scheduled")
    assert found[1].appointment_start == start and found[1].appointment_start.tzinfo is not None
    assert found[1].appointment_end == start + dt.timedelta(hours=2)
    assert found[0].product == "冰箱" and found[0].appointment_start is None

    digits = "".join(c for c in repair.number if c.isdigit())
    assert [t.id for t in await services.ticket_progress(customer_id=li.id, keyed=digits)] == [repair.id]
    (zhang,) = await CustomerRepository(db).find_by_phone("13800138000")
    assert await services.ticket_progress(customer_id=zhang.id, keyed=digits) == [], "another customer's"
    assert await services.ticket_progress(customer_id=None, keyed=digits, caller_number="13912345678") == [], \
        "a customer's ticket is theirs, not their number's"
    assert await services.ticket_progress(customer_id=li.id, keyed="".join(c for c in done.number if c.isdigit())) \
        == [], "not a closed or cancelled one"
    assert await services.ticket_progress(customer_id=li.id, keyed="12345") == []
    stranger = await tickets.open("inquiry", "问价", {"caller_number": "13700000000"}, customer_id=None)
    keyed = "".join(c for c in stranger.number if c.isdigit())
    assert [t.id for t in await services.ticket_progress(customer_id=None, keyed=keyed,
                                                          caller_number="+86 137 0000 0000")] == [stranger.id]
    assert await services.ticket_progress(customer_id=None, keyed=keyed, caller_number="13700000001") == []
    assert await tickets.by_keyed_number("2026x") is None

    pushed: list[str] = []
    bus_of(db).subscribe(lambda change: pushed.extend(e.kind for e in change.events))
    await services.answer_appointment(AppointmentAnswer(repair.id, repair.number, "time_requested", "call-1",
                                                        "13912345678"))
    (event,) = [e for e in await tickets.events(repair.id) if e.kind == "time_requested"]
    assert (event.actor, event.user_id, event.status) == ("ivr", None, "scheduled")
    assert event.note == "13912345678", "the number to call the customer back on"
    assert event.payload == {"via": "ivr", "call_linkedid": "call-1", "caller_number": "13912345678"}
    assert pushed == ["time_requested"], "on the bus: the work view pushes it at once"
    assert (await tickets.get(repair.id)).version == repair.version, "the ticket itself is unchanged"

    with pytest.raises(TransitionRefused):
        await tickets.customer_answer(done.id, "confirmed", "x")
    with pytest.raises(ValueError, match="not a customer's answer"):
        await tickets.customer_answer(repair.id, "closed", "x")


async def test_a_dry_run_on_the_database_reads_the_tickets_and_changes_nothing(db: Database) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    tickets = TicketRepository(db)
    (li,) = await CustomerRepository(db).find_by_phone("13912345678")
    repair = await tickets.open("repair", "不脱水", {"product": "洗衣机"}, customer_id=li.id)
    start = dt.datetime(2026, 12, 8, 14, 0, tzinfo=SHANGHAI)
    await tickets.schedule(repair.id, start, start + dt.timedelta(hours=2), None)
    before = await tickets.events(repair.id)
    flow = load_flow(FLOW, queues=["support"])
    services = LookupOnlyServices(db, tickets=tickets, timezone="Asia/Shanghai")
    run, lines = await dry_run(flow, ["2"], caller_number="13912345678", services=services,
                               clock=lambda: dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC))
    said = " ".join(e.detail for step in run.path for e in step.events if e.kind == "say")
    assert "产品：洗衣机，状态：已预约。预约上门时间：明天，十二月八日，星期二，下午两点到下午四点" in said
    assert f"       would record time_requested on ticket {repair.number}" in lines
    assert await tickets.events(repair.id) == before, "a dry run changes nothing"


FLOW = """\
flow: progress
entry: "4008001234"
language: zh
start: who
nodes:
  who: {kind: progress, none: bye, confirmed: bye, another_time: bye, agent: agents, next: bye}
  agents: {kind: queue, queue: support}
  bye: {kind: hangup}
"""
