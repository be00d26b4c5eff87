"""SMS notices from a real server process to a local Aliyun SMS stand-in that verifies every
request's signature by Aliyun's published algorithm: a repair ticket walked from opening to
completion sends exactly the notices the templates say (accepted and the engineer's task,
completed, the return visit's survey), each once, across a kill -9 of the server in the
middle and a server in quiet hours (which holds them until they end; killed too); a customer
who opted out at the desk gets none; the ticket shows its notices and their delivery state
(API and department page); inbound SMS from a known customer note their open ticket or open
one."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from ctiserver.customers import CustomerRepository
from ctiserver.lab.isolated import isolated_settings
from ctiserver.notices.tables import SmsInbound, SmsNotice
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets import TicketRepository
from ctiserver.users import UserRepository
from tests.aliyun_sms_server import AliyunSmsServer
from tests.integration.browser import logged_in_page
from tests.support.processes import Processes, processes  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

KEY_ID, SECRET = "LTAI-lab", "the aliyun secret of the sms tests"
INBOUND = "the inbound secret of the sms tests"
PASSWORD = "a long lab password 1"
TIMEOUT = 15_000
FLOW = "flow: sms\nentry: \"4008001234\"\nlanguage: zh\nstart: bye\nnodes:\n  bye: {kind: hangup}\n"


@pytest.fixture
async def provider() -> AsyncIterator[AliyunSmsServer]:
    server = AliyunSmsServer(KEY_ID, SECRET)
    await server.start()
    yield server
    await server.stop()


async def rows(db: Database, ticket_id: int) -> list[SmsNotice]:
    async with db.session() as session:
        return list(await session.scalars(
            select(SmsNotice).where(SmsNotice.ticket_id == ticket_id).order_by(SmsNotice.id)
        ))


async def until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(INBOUND.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-CTI-Timestamp": stamp, "X-CTI-Signature": "sha256=" + mac, "Content-Type": "application/json"}


async def test_a_ticket_walked_to_completion_sends_each_notice_once_across_a_kill(
    tmp_path: Path, provider: AliyunSmsServer, browser: Any,
    processes: Processes,  # noqa: F811  (the imported fixture)
) -> None:
    settings = isolated_settings(
        tmp_path, flow=FLOW, tickets={"feed_interval": 0.2},
        sms={"enabled": True, "provider": "aliyun", "url": provider.url, "access_key_id": KEY_ID,
             "secret": SECRET, "template_code": "SMS_100", "quiet_start": "00:00", "quiet_end": "00:00",
             "interval": 0.5, "backoff_min": 0.2, "backoff_max": 1.0, "inbound_secret": INBOUND},
    )
    url = settings.database.url
    await upgrade_schema(url)
    db = Database(url)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        customers, users, tickets = CustomerRepository(db), UserRepository(db), TicketRepository(db)
        zhang = await customers.create("张三", "13800138000", city="北京市", street="朝阳路1号")
        wang = await customers.create("王五", "13700137000")
        zhao = await customers.create("赵六", "13600136000")
        await users.add("boss", PASSWORD, "admin")
        agent = await users.add("desk", PASSWORD, "agent")
        engineer = await users.add("li", PASSWORD, "staff", "李师傅", department="repair")
        first = await processes.server(settings, "first", asterisk=False)
        base = f"http://127.0.0.1:{settings.web.port}"
        login = await http.post(f"{base}/login", json={"username": "boss", "password": PASSWORD})
        assert login.status == 200, await login.text()
        answer = await http.put(f"{base}/api/sms/engineers/{engineer.id}", json={"phone": "13900139000"})
        assert answer.status == 200, await answer.text()
        answer = await http.put(f"{base}/api/customers/{wang.id}/sms-opt-out", json={"opted_out": True})
        assert (answer.status, (await answer.json())["opted_out"]) == (200, True)

        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
        ticket = await tickets.open("repair", "洗衣机漏水", {"fault_symptom": "滚筒漏水"}, customer_id=zhang.id,
                                    source="agent", user_id=agent.id)
        await tickets.dispatch(ticket.id, "repair", None)
        await tickets.schedule(ticket.id, start, start + dt.timedelta(hours=2), engineer.id)
        opted = await tickets.open("repair", "冰箱不制冷", {}, customer_id=wang.id, source="agent")
        await tickets.dispatch(opted.id, "repair", None)
        await tickets.schedule(opted.id, start, start + dt.timedelta(hours=2), engineer.id)
        await provider.wait_for(3, 30)  # 张三 accepted, the engineer's two tasks
        # once recorded (a kill between the provider's acceptance and its record leaves the
        # notice "unknown", never sent again: tests/unit/test_notices_outbox.py)
        await until(lambda: _all_final(db, ticket.id, 2), 30, "the accepted notices recorded")
        await until(lambda: _all_final(db, opted.id, 2, "opted_out"), 30, "the opted-out ticket's")
        first.kill()  # kill -9 in the middle of the ticket's life

        await tickets.move(ticket.id, "in_progress")
        await tickets.move(ticket.id, "completed")  # while no server runs
        # a server in quiet hours (now, in the hotline's zone) plans them but holds them
        local = dt.datetime.now(ZoneInfo(settings.hotline.timezone))
        quiet_end = (local + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
        quiet = await processes.server(settings.replace(sms={
            "quiet_start": f"{local - dt.timedelta(hours=1):%H:%M}", "quiet_end": f"{quiet_end:%H:%M}",
        }), "quiet", asterisk=False)
        held = await until(lambda: _held(db, ticket.id), 60, "the completed and survey notices held")
        assert {n.notice for n in held} == {"customer_completed", "customer_survey"}
        assert {n.held_until for n in held} == {quiet_end.astimezone(dt.UTC)}
        assert len(provider.accepted) == 3, "nothing sent in quiet hours"
        quiet.kill()

        await processes.server(settings, "again", asterisk=False)  # the morning: quiet hours over
        await provider.wait_for(5, 60)  # completed, then the survey once the visit moves the ticket
        await until(lambda: _all_final(db, ticket.id, 4), 30, "the ticket's four notices sent")

        # what the ticket shows, to whoever may see it
        login = await http.post(f"{base}/login", json={"username": "boss", "password": PASSWORD})
        assert login.status == 200
        shown = await (await http.get(f"{base}/api/tickets/{ticket.id}/notices")).json()
        # and the department page's ticket detail, in the page's language
        page = await logged_in_page(browser, base, "boss", PASSWORD, "/ui/department.html")
        await page.locator(f"[data-testid=ticket-row][data-number='{opted.number}']").click(timeout=TIMEOUT)
        states = page.get_by_test_id("sms-notices").get_by_test_id("sms-state")
        await states.nth(1).wait_for(timeout=TIMEOUT)
        on_page = await states.all_text_contents()

        # inbound: a note on 张三's open ticket, a new ticket for 赵六, nothing for a stranger
        push = json.dumps([
            {"phone_number": "13800138000", "content": "师傅明天几点到？", "sequence_id": 1},
            {"phone_number": "13600136000", "content": "空调不制热", "sequence_id": 2},
            {"phone_number": "13500135000", "content": "hello", "sequence_id": 3},
        ], ensure_ascii=False).encode()
        async with aiohttp.ClientSession() as provider_side:  # no session: the secret is the proof
            forged = await provider_side.post(f"{base}/sms/inbound", data=push,
                                              headers={**signed(push), "X-CTI-Signature": "sha256=00"})
            assert forged.status == 401
            for _ in range(2):  # a push repeated acts once
                taken = await provider_side.post(f"{base}/sms/inbound", data=push, headers=signed(push))
                assert taken.status == 200, await taken.text()
        events = await tickets.events(ticket.id)
        opened = await tickets.open_for_customer(zhao.id)
        final = await rows(db, ticket.id)
        opted_rows = await rows(db, opted.id)
        async with db.session() as session:
            taken_rows = await session.scalars(select(SmsInbound).order_by(SmsInbound.id))
            inbound = [(r.message_id, r.action) for r in taken_rows]
    finally:
        await http.close()
        await db.close()

    assert provider.bad_signatures == 0
    assert provider.refused == []
    out_ids = provider.out_ids()
    assert len(out_ids) == len(set(out_ids)) == 5, "each notice sent once"
    assert sorted(n.notice for n in final) == [
        "customer_accepted", "customer_completed", "customer_survey", "engineer_task"]
    assert {n.state for n in final} == {"sent"}
    by_key = {a.out_id: a for a in provider.accepted}
    for notice in final:
        accepted = by_key[notice.key]
        assert notice.provider_id == accepted.biz_id
        assert accepted.phone == ("13800138000" if notice.recipient == "customer" else "13900139000")
        assert accepted.params["content"] == notice.text
    assert "李师傅" in next(n.text for n in final if n.notice == "customer_accepted")
    assert ticket.number in next(n.text for n in final if n.notice == "customer_survey")
    assert {(n.notice, n.state) for n in opted_rows} == {("customer_accepted", "opted_out"), ("engineer_task", "sent")}
    assert "13700137000" not in [a.phone for a in provider.accepted]
    assert [(n["notice"], n["state"]) for n in shown["notices"]] == [(n.notice, n.state) for n in final]
    assert on_page == ["客户已退订", "已发送"]
    notes = [e.note for e in events if e.kind == "note"]
    assert notes == ["短信 / SMS 13800138000: 师傅明天几点到？"]
    assert [(t.type, t.source, t.summary) for t in opened] == [("inquiry", "sms", "空调不制热")]
    assert inbound == [("1", "noted"), ("2", "opened"), ("3", "unknown")]


async def _held(db: Database, ticket_id: int) -> list[SmsNotice]:
    found = [n for n in await rows(db, ticket_id) if n.state == "pending" and n.held_until is not None]
    return found if len(found) == 2 else []


async def _all_final(db: Database, ticket_id: int, count: int, *also: str) -> bool:
    found = await rows(db, ticket_id)
    return len(found) == count and all(n.state in ("sent", *also) for n in found)
