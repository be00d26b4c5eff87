"""The desk's customer search (``GET /api/customers/search``) and the editing of a customer's
details (``PATCH /api/customers/{id}``, audited), against the seeded demo data. Who sees which
customer through them, record by record: tests/unit/test_visibility.py."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from ctiserver.audit.model import AuditEvent
from ctiserver.audit.trail import AuditTrail
from ctiserver.customers.tables import Customer
from ctiserver.lab.demo import seed_demo
from ctiserver.settings import Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from tests.support.desk import PASSWORD, FakeDesk, user_ids
from tests.support.web_fakes import FAST_HASHER, FakeAmi, FakeTracker
from tests.unit.api_session import ApiSession
from tests.unit.web_app import build_app

#: 张伟's mobile as a caller may say it
ZHANG_WEI = ["13800138000", "138-0013-8000", "+86 138 0013 8000", "0086 13800138000", "(138) 0013 8000"]


@dataclasses.dataclass
class SearchEnv(ApiSession):
    password: ClassVar[str] = PASSWORD
    db: Database
    events: list[AuditEvent]
    user_ids: dict[str, int]

    async def names(self, text: str) -> list[str]:
        response = await self.client.get("/api/customers/search", params={"q": text})
        assert response.status == 200, await response.text()
        return [card["name"] for card in (await response.json())["customers"]]

    async def customer(self, name: str) -> int:
        async with self.db.session() as session:
            found = await session.scalar(select(Customer.id).where(Customer.name == name))
        assert found is not None
        return found


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SearchEnv]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"
    await upgrade_schema(url)
    db = Database(url)
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    ids = await user_ids(db)
    events: list[AuditEvent] = []
    app = build_app(
        Settings().replace(web={"session_secret": "search test secret"}), db=db, calls=FakeTracker(),
        ami=FakeAmi(), users=UserRepository(db, FAST_HASHER), desk=FakeDesk({}), audit=AuditTrail(events.append),
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield SearchEnv(client, db, events, ids)
    finally:
        await client.close()
        await db.close()


@pytest.mark.parametrize("said", ZHANG_WEI)
async def test_found_by_any_form_of_a_phone_number(env: SearchEnv, said: str) -> None:
    await env.login("agent1001")
    assert await env.names(said) == ["张伟"]


async def test_found_by_name_ticket_number_and_serial(env: SearchEnv) -> None:
    await env.login("agent1001")
    zhang = await env.customer("张伟")
    tickets = TicketRepository(env.db)
    ticket = await tickets.open("repair", "空调不制冷", {}, customer_id=zhang, user_id=env.user_ids["agent1001"])
    unseen = await tickets.open("repair", "别人开的", {}, customer_id=zhang)  # not this agent's to see
    assert await env.names("张伟") == ["张伟"]
    assert "张伟" in await env.names("张")  # a part of the name
    assert await env.names(ticket.number) == ["张伟"]
    assert await env.names(ticket.number.lower()) == ["张伟"]
    assert await env.names(unseen.number) == [], "a ticket the agent may not see names no one"
    await env.login("supervisor")
    assert await env.names(unseen.number) == ["张伟"]
    assert await env.names("rf2022bj000233") == ["张伟"]  # the refrigerator's serial, as typed
    assert await env.names("无此人") == []
    # LIKE's wildcards are the caller's text, not patterns that match everyone
    assert await env.names("%") == [] and await env.names("_") == []
    status, body = await env.call("GET", "/api/customers/search?q=")
    assert status == 400, body


async def test_an_agent_corrects_the_details_and_the_change_is_audited(env: SearchEnv) -> None:
    await env.login("agent1001")
    zhang = await env.customer("张伟")
    change: dict[str, Any] = {
        "district": "海淀区", "street": "中关村大街", "address_detail": "1号",
        "phones": [{"number": "139 1111 2222", "label": "手机"}, {"number": "010-6552 8899", "label": None}],
    }
    status, body = await env.call("PATCH", f"/api/customers/{zhang}", change)
    assert status == 200, body
    card = body["customer"]
    assert card["address"] == {"province": "北京市", "city": "北京市", "district": "海淀区", "street": "中关村大街",
                               "detail": "1号"}
    assert card["phones"] == [{"number": "139 1111 2222", "label": "手机"}, {"number": "010-6552 8899", "label": None}]
    assert (card["name"], card["level"]) == ("张伟", "vip")  # not sent: kept
    assert await env.names("13911112222") == ["张伟"]
    assert await env.names("13800138000") == []  # that phone is no longer his
    (event,) = [e for e in env.events if e.action == "PATCH /api/customers/{id}"]
    who = (event.username, event.target_kind, event.target_id, event.status)
    assert who == ("agent1001", "customer", str(zhang), 200)
    assert event.details is not None and event.details["body"]["district"] == "海淀区"

    status, body = await env.call("PATCH", f"/api/customers/{zhang}", {"address_detail": ""})
    assert status == 200 and body["customer"]["address"]["detail"] is None  # sent empty: cleared


@pytest.mark.parametrize(("change", "status"), [
    ({"phones": [{"number": "12"}]}, 400),
    ({"phones": []}, 400),
    ({"name": ""}, 400),
    ({"level": "gold"}, 400),
    ({"street": "街" * 129}, 400),
])
async def test_a_bad_change_is_refused_and_changes_nothing(env: SearchEnv, change: dict[str, Any], status: int) -> None:
    await env.login("agent1001")
    zhang = await env.customer("张伟")
    _, before = await env.call("GET", f"/api/customers/{zhang}")
    got, body = await env.call("PATCH", f"/api/customers/{zhang}", change)
    assert got == status, body
    assert await env.call("GET", f"/api/customers/{zhang}") == (200, before)


async def test_an_unknown_customer_is_404(env: SearchEnv) -> None:
    await env.login("agent1001")
    assert (await env.call("PATCH", "/api/customers/999999", {"city": "上海"}))[0] == 404
