"""The notices' outbox in one process, against the local Aliyun SMS stand-in (which checks
every signature): a notice planned during quiet hours waits until the morning; a ticket
event handed over again owes nothing more; a failed send is retried after a back-off and
sent once; an opt-out made meanwhile is honoured; a notice whose sender died while asking
the provider is never sent again."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from ctiserver.customers import CustomerRepository
from ctiserver.notices.outbox import NoticePlanner, NoticeSender, QuietHours
from ctiserver.notices.providers import AliyunSms
from ctiserver.notices.store import NoticeStore
from ctiserver.notices.tables import SmsNotice
from ctiserver.notices.templates import Templates
from ctiserver.settings import SmsSettings
from ctiserver.storage.database import Database
from ctiserver.tickets import EventFeed, TicketRepository
from ctiserver.users import UserRepository
from tests.aliyun_sms_server import AliyunSmsServer

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY_ID, SECRET = "LTAI-unit", "an aliyun secret of the unit tests"


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


@pytest.fixture
async def provider() -> AsyncIterator[AliyunSmsServer]:
    server = AliyunSmsServer(KEY_ID, SECRET)
    await server.start()
    yield server
    await server.stop()


class Outbox:
    def __init__(self, db: Database, server: AliyunSmsServer, clock: Clock, *, quiet: bool = True) -> None:
        self.settings = SmsSettings(enabled=True, provider="aliyun", url=server.url, access_key_id=KEY_ID,
                                    secret=SECRET, template_code="SMS_1", backoff_min=60, backoff_max=600,
                                    quiet_end="08:00" if quiet else "21:00")
        self.store = NoticeStore(db)
        quiet = QuietHours(self.settings, SHANGHAI)
        self.provider = AliyunSms(KEY_ID, SECRET, "售后服务", "SMS_1", server.url)
        self.sender = NoticeSender(self.settings, self.store, self.provider, quiet, clock=clock, jitter=lambda: 0.0)
        self.planner = NoticePlanner(self.settings, self.store, EventFeed(db), Templates(), quiet, clock=clock)

    async def plan(self) -> int:
        return await self.planner.consumer.step(self.planner.handle)

    async def send(self) -> int:
        async with aiohttp.ClientSession() as http:
            return await self.sender.step(http)


async def notices(db: Database) -> dict[str, SmsNotice]:
    async with db.session() as session:
        return {row.notice: row for row in await session.scalars(select(SmsNotice).order_by(SmsNotice.id))}


async def scheduled_ticket(db: Database) -> tuple[int, int]:
    """A repair ticket of a customer with a mobile, scheduled with an engineer who has one."""
    customer = await CustomerRepository(db).create("张三", "138 0013 8000", city="北京市", street="朝阳路1号")
    engineer = await UserRepository(db).add("li", "a long password 1", "staff", "李师傅", department="repair")
    await NoticeStore(db).set_engineer_phone(engineer.id, "13900139000")
    tickets = TicketRepository(db)
    ticket = await tickets.open("repair", "洗衣机漏水", {"fault_symptom": "漏水"}, customer_id=customer.id,
                                source="agent")
    await tickets.dispatch(ticket.id, "repair", None)
    start = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
    await tickets.schedule(ticket.id, start, start + dt.timedelta(hours=2), engineer.id)
    return ticket.id, customer.id


async def test_quiet_hours_hold_notices_until_the_morning(db: Database, provider: AliyunSmsServer) -> None:
    clock = Clock(dt.datetime(2026, 12, 6, 22, 30, tzinfo=SHANGHAI))
    outbox = Outbox(db, provider, clock)
    await outbox.planner.consumer.prepare()
    await scheduled_ticket(db)
    assert await outbox.plan() == 1
    planned = await notices(db)
    assert set(planned) == {"customer_accepted", "engineer_task"}
    morning = dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    for row in planned.values():
        assert row.state == "pending"
        assert row.due_at == morning and row.held_until == morning
    assert "12月8日 09:00-11:00" in planned["customer_accepted"].text
    assert await outbox.store.next_due() == morning  # when the sender looks next
    clock.at = dt.datetime(2026, 12, 7, 7, 59, tzinfo=SHANGHAI)
    assert await outbox.send() == 0
    assert provider.accepted == []
    clock.at = morning
    assert await outbox.send() == 2
    assert sorted(a.phone for a in provider.accepted) == ["13800138000", "13900139000"]
    sent = await notices(db)
    assert {row.state for row in sent.values()} == {"sent"}
    assert {row.provider_id for row in sent.values()} == {"biz-1", "biz-2"}
    task = next(a for a in provider.accepted if a.phone == "13900139000")
    for part in ("张三", "13800138000", "北京市朝阳路1号", "漏水", "12月8日 09:00-11:00"):
        assert part in task.params["content"]
    assert provider.bad_signatures == 0


async def test_an_event_handed_over_again_owes_nothing_more(db: Database, provider: AliyunSmsServer) -> None:
    clock = Clock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI))
    outbox = Outbox(db, provider, clock)
    await outbox.planner.consumer.prepare()
    ticket_id, _customer = await scheduled_ticket(db)
    [event] = [e for e in await TicketRepository(db).events(ticket_id) if e.kind == "scheduled"]
    for _ in range(3):  # a crash before the cursor moved hands the event over again
        await outbox.planner.handle(event)
    assert await outbox.plan() == 1
    assert len(await notices(db)) == 2
    assert await outbox.send() == 2
    await outbox.planner.handle(event)
    assert await outbox.send() == 0
    assert len(provider.accepted) == 2


async def test_a_failed_send_is_retried_after_a_backoff(db: Database, provider: AliyunSmsServer) -> None:
    clock = Clock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI))
    outbox = Outbox(db, provider, clock)
    await outbox.planner.consumer.prepare()
    await scheduled_ticket(db)
    await outbox.plan()
    provider.throttle = 3
    assert await outbox.send() == 2  # both throttled
    assert await outbox.send() == 0  # not due before the back-off
    row = (await notices(db))["customer_accepted"]
    assert (row.state, row.attempts) == ("pending", 1)
    assert "BUSINESS_LIMIT_CONTROL" in (row.error or "")
    assert row.due_at == clock.at.astimezone(dt.UTC) + dt.timedelta(seconds=60)
    clock.at += dt.timedelta(seconds=61)
    assert await outbox.send() == 2  # one throttled again, one sent
    clock.at += dt.timedelta(seconds=121)
    assert await outbox.send() == 1
    rows = await notices(db)
    assert {row.state for row in rows.values()} == {"sent"}
    assert sorted(row.attempts for row in rows.values()) == [1, 2]
    assert sorted(provider.out_ids()) == sorted(row.key for row in rows.values())


async def test_opt_out_is_honoured_and_a_dead_senders_notice_is_not_sent_again(
    db: Database, provider: AliyunSmsServer,
) -> None:
    clock = Clock(dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI))
    outbox = Outbox(db, provider, clock)
    await outbox.planner.consumer.prepare()
    _ticket, customer_id = await scheduled_ticket(db)
    await outbox.plan()
    await outbox.store.set_opt_out(customer_id, True, source="desk", user_id=None)
    task = (await notices(db))["engineer_task"]
    assert await outbox.store.claim(task.id, clock.at)  # a sender claims it, then dies
    assert await outbox.send() == 1
    rows = await notices(db)
    assert rows["customer_accepted"].state == "opted_out"
    assert rows["engineer_task"].state == "sending"
    clock.at += dt.timedelta(seconds=outbox.settings.timeout * 2 + 31)
    await outbox.sender.orphans()
    assert await outbox.send() == 0
    assert (await notices(db))["engineer_task"].state == "unknown"
    assert provider.accepted == []


async def test_the_running_sender_retries_on_its_own(db: Database, provider: AliyunSmsServer) -> None:
    """``run_forever``: a throttled notice waits its back-off (the sender sleeps until it is
    due), then is sent once."""
    outbox = Outbox(db, provider, Clock(dt.datetime.now(dt.UTC)), quiet=False)  # planned due now
    await outbox.planner.consumer.prepare()
    await scheduled_ticket(db)
    await outbox.plan()
    sender = NoticeSender(  # on the real clock
        dataclasses.replace(outbox.settings, backoff_min=0.2, backoff_max=0.4, interval=30.0),
        outbox.store, outbox.provider, outbox.sender.quiet,
    )
    provider.throttle = 1
    running = asyncio.create_task(sender.run_forever())
    try:
        await provider.wait_for(2, 20)
    finally:
        running.cancel()
    rows = await notices(db)
    assert sorted(row.attempts for row in rows.values()) == [0, 1]
    assert len(provider.refused) == 1 and len(provider.accepted) == 2
