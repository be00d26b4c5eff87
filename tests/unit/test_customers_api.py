"""Customers, history and tickets over HTTP, against the seeded demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ctiserver.calls.store import CallRepository
from ctiserver.customers.tables import Customer, Product
from ctiserver.tickets.store import TicketRepository
from ctiserver.web.handling import MAX_BODY
from tests.support.desk import EVERYONE, DeskEnv, desk_env
from tests.support.web_fakes import T0, XSS, EndedCall

ZHANG_WEI_PHONES = ["+86 138-0013-8000", "008613800138000", "013800138000", "13800138000"]
CARD_KEYS = {"id", "name", "level", "phones", "address", "products", "open_tickets",
             "recent_calls"}
TICKET_KEYS = {"id", "number", "type", "status", "version", "department", "branch_id", "engineer_id",
               "urgency", "summary", "fields", "customer_id", "product_id", "call_linkedid", "source",
               "created_at", "due_at", "escalation_level"}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[DeskEnv]:
    async with desk_env(tmp_path) as desk:
        yield desk


async def customer_id(env: DeskEnv, name: str) -> int:
    async with env.db.session() as session:
        found = await session.scalar(select(Customer.id).where(Customer.name == name))
    assert found is not None
    return found


async def product_ids(env: DeskEnv, owner: int) -> list[int]:
    async with env.db.session() as session:
        rows = await session.scalars(
            select(Product.id).where(Product.customer_id == owner).order_by(Product.id)
        )
        return list(rows)


async def save_calls(env: DeskEnv, count: int, number: str = "13800138000") -> None:
    """``count`` ended calls from ``number``, a minute apart, the last one the newest.

    Linkedids are ``{start}.{i}`` for 张伟's number, ``{start}.x{i}`` for others.
    """
    calls = CallRepository(env.db)
    tag = "" if number == "13800138000" else "x"
    for i in range(count):
        start = T0 + 60 * i
        await calls.save(EndedCall(f"{start}.{tag}{i}", number, None, start, start + 30))


ROUTES = [
    ("GET", "/api/customers?phone=13800138000", None),
    ("GET", "/api/customers/1", None),
    ("POST", "/api/customers", {"name": "新客户", "phone": "13700000000"}),
    ("GET", "/api/customers/1/history", None),
    ("GET", "/api/tickets?customer_id=1", None),
    ("POST", "/api/tickets", {"type": "inquiry", "summary": "咨询"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_customer_routes_need_a_session(
    env: DeskEnv, method: str, path: str, body: Any
) -> None:
    assert await env.call(method, path, body) == (401, {"error": "login required"})


@pytest.mark.parametrize("username", EVERYONE)
async def test_every_role_may_look_customers_up(env: DeskEnv, username: str) -> None:
    await env.login(username)
    status, body = await env.call("GET", "/api/customers?phone=13800138000")
    assert status == 200 and [c["name"] for c in body["customers"]] == ["张伟"]


@pytest.mark.parametrize("phone", ZHANG_WEI_PHONES)
async def test_find_by_phone_in_any_format(env: DeskEnv, phone: str) -> None:
    await env.login("agent1001")
    response = await env.client.get("/api/customers", params={"phone": phone})
    assert response.status == 200
    (card,) = (await response.json())["customers"]
    assert card["name"] == "张伟" and card["level"] == "vip"


async def test_card_has_phones_address_products_open_tickets_and_recent_calls(
    env: DeskEnv,
) -> None:
    zhang = await customer_id(env, "张伟")
    fridge = (await product_ids(env, zhang))[1]
    tickets = TicketRepository(env.db)
    old = await tickets.open("repair", "空调漏水", {}, customer_id=zhang)
    await tickets.move(old.id, "cancelled")
    repair = await tickets.open("repair", "冰箱不制冷", {}, customer_id=zhang, product_id=fridge)
    await save_calls(env, 7)

    # a supervisor sees the whole card; what an agent sees of it: tests/unit/test_visibility.py
    await env.login("supervisor")
    status, body = await env.call("GET", f"/api/customers/{zhang}")
    assert status == 200
    card = body["customer"]
    assert set(card) == CARD_KEYS
    assert (card["id"], card["name"], card["level"]) == (zhang, "张伟", "vip")
    assert card["phones"] == [
        {"number": "+86 138-0013-8000", "label": "mobile"},
        {"number": "010-6552 8899", "label": "home"},
    ]
    assert card["address"] == {
        "province": "北京市", "city": "北京市", "district": "朝阳区", "street": "建国路",
        "detail": "88号 SOHO现代城 A座 1201室",
    }
    assert [p["category"] for p in card["products"]] == ["air_conditioner", "refrigerator"]
    assert card["products"][1] == {
        "id": fridge, "category": "refrigerator", "model": "BCD-470WDPG",
        "serial": "RF2022BJ000233", "installed_on": "2022-03-02",
    }
    (ticket,) = card["open_tickets"]  # the cancelled one is not open
    assert set(ticket) == TICKET_KEYS
    assert (ticket["id"], ticket["number"], ticket["status"]) == (repair.id, repair.number, "dispatched")
    assert (ticket["customer_id"], ticket["product_id"]) == (zhang, fridge)
    recent = card["recent_calls"]
    assert len(recent) == 5
    assert [c["started_at"] for c in recent] == sorted(
        (c["started_at"] for c in recent), reverse=True
    )
    assert recent[0]["id"] == f"{T0 + 360}.6" and recent[0]["state"] == "ended"
    assert recent[0]["customer_id"] == zhang

    status, found = await env.call("GET", "/api/customers?phone=13800138000")
    assert found == {"customers": [card]}


async def test_unknown_customers(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert await env.call("GET", "/api/customers?phone=99999") == (200, {"customers": []})
    assert (await env.call("GET", "/api/customers?phone="))[0] == 400
    assert (await env.call("GET", "/api/customers"))[0] == 400
    for path in ["/api/customers/999999", "/api/customers/999999/history"]:
        assert await env.call("GET", path) == (404, {"error": "no such customer"})
    assert (await env.call("GET", "/api/customers/abc"))[0] == 404


async def test_quick_create_keeps_text_verbatim(env: DeskEnv) -> None:
    await env.login("agent1001")
    status, body = await env.call(
        "POST", "/api/customers",
        {"name": XSS, "phone": "+86 137-0000-1234", "province": "浙江省", "city": "杭州市",
         "district": "西湖区", "street": "文三路", "address_detail": "「测试」😀 1号"},
    )
    assert status == 201
    card = body["customer"]
    assert card["name"] == XSS and card["level"] == "normal"
    assert card["phones"] == [{"number": "+86 137-0000-1234", "label": None}]
    assert card["address"]["detail"] == "「测试」😀 1号"
    assert card["products"] == card["open_tickets"] == card["recent_calls"] == []

    response = await env.client.get(f"/api/customers/{card['id']}")
    assert XSS in await response.text()  # data in JSON, never HTML
    status, found = await env.call("GET", "/api/customers?phone=013700001234")
    assert found == {"customers": [card]}


async def test_quick_create_allows_a_shared_phone(env: DeskEnv) -> None:
    await env.login("agent1001")
    status, body = await env.call(
        "POST", "/api/customers", {"name": "张伟的妻子", "phone": "138 0013 8000", "level": "vip"}
    )
    assert status == 201
    new = body["customer"]
    assert new["name"] == "张伟的妻子" and new["level"] == "vip"
    assert new["id"] != await customer_id(env, "张伟")
    status, found = await env.call("GET", "/api/customers?phone=13800138000")
    assert [c["name"] for c in found["customers"]] == ["张伟", "张伟的妻子"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "phone": "13700000000"},
        {"name": "   ", "phone": "13700000000"},
        {"name": "名" * 101, "phone": "13700000000"},
        {"name": "新客户", "phone": "12-34"},
        {"name": "新客户", "phone": "no number"},
        {"name": "新客户"},
        {"phone": "13700000000"},
        {"name": 5, "phone": "13700000000"},
        {"name": "新客户", "phone": "13700000000", "level": "gold"},
        {"name": "新客户", "phone": "13700000000", "city": 5},
        {"name": "新客户", "phone": "13700000000", "province": "省" * 65},
        ["新客户", "13700000000"],
    ],
)
async def test_quick_create_validation(env: DeskEnv, body: Any) -> None:
    await env.login("agent1001")
    status, answer = await env.call("POST", "/api/customers", body)
    assert status == 400 and "error" in answer
    assert (await env.call("GET", "/api/customers?phone=13700000000"))[1] == {"customers": []}


async def test_quick_create_accepts_100_characters(env: DeskEnv) -> None:
    await env.login("agent1001")
    status, body = await env.call("POST", "/api/customers", {"name": "名" * 100, "phone": "12345"})
    assert status == 201 and body["customer"]["name"] == "名" * 100


async def test_oversized_body_is_refused(env: DeskEnv) -> None:
    await env.login("agent1001")
    body = {"name": "新客户", "phone": "13700000000", "address_detail": "x" * MAX_BODY}
    status, answer = await env.call("POST", "/api/customers", body)
    assert status == 413 and "error" in answer


async def test_history_newest_first(env: DeskEnv) -> None:
    zhang = await customer_id(env, "张伟")
    tickets = TicketRepository(env.db)
    first = await tickets.open("repair", "第一张", {}, customer_id=zhang)
    await tickets.move(first.id, "cancelled")
    second = await tickets.open("inquiry", "第二张", {}, customer_id=zhang)
    await tickets.open("inquiry", "别人的", {}, customer_id=await customer_id(env, "李娜"))
    await save_calls(env, 7)
    await save_calls(env, 1, number="13912345678")  # 李娜's

    await env.login("supervisor")  # an agent's share of it: tests/unit/test_visibility.py
    status, body = await env.call("GET", f"/api/customers/{zhang}/history")
    assert status == 200 and set(body) == {"calls", "tickets"}
    assert [t["id"] for t in body["tickets"]] == [second.id, first.id]
    assert body["tickets"][1]["status"] == "cancelled"
    assert all(set(t) == TICKET_KEYS for t in body["tickets"])
    assert [c["id"] for c in body["calls"]] == [f"{T0 + 60 * i}.{i}" for i in range(6, -1, -1)]
    assert all(c["customer_id"] == zhang for c in body["calls"])


async def test_open_a_ticket_linked_to_customer_product_call_and_user(env: DeskEnv) -> None:
    zhang = await customer_id(env, "张伟")
    ac = (await product_ids(env, zhang))[0]
    await env.login("agent1002")
    status, body = await env.call(
        "POST", "/api/tickets",
        {"type": "repair", "summary": f"  空调不制冷 {XSS}  ", "customer_id": zhang,
         "product_id": ac, "call_id": "1714523400.7", "fields": {"fault_symptom": "不制冷"}},
    )
    assert status == 201
    ticket = body["ticket"]
    assert set(ticket) == TICKET_KEYS
    assert ticket["number"].startswith("R") and ticket["status"] == "dispatched"
    assert (ticket["type"], ticket["department"], ticket["source"]) == ("repair", "repair", "agent")
    assert ticket["summary"] == f"空调不制冷 {XSS}"
    assert (ticket["customer_id"], ticket["product_id"], ticket["call_linkedid"]) == (
        zhang, ac, "1714523400.7"
    )
    stored = await TicketRepository(env.db).get(ticket["id"])
    assert stored is not None
    assert stored.created_by_user_id == env.user_ids["agent1002"]
    assert stored.fields == {"fault_symptom": "不制冷"}

    for query in [f"customer_id={zhang}", "call_id=1714523400.7"]:
        assert await env.call("GET", f"/api/tickets?{query}") == (200, {"tickets": [ticket]})
    status, card = await env.call("GET", f"/api/customers/{zhang}")
    assert card["customer"]["open_tickets"] == [ticket]


async def test_a_ticket_on_a_product_alone_belongs_to_its_owner(env: DeskEnv) -> None:
    li_na = await customer_id(env, "李娜")
    (washer,) = await product_ids(env, li_na)
    await env.login("supervisor")
    status, body = await env.call(
        "POST", "/api/tickets", {"type": "moving", "summary": "搬家移机", "product_id": washer}
    )
    assert status == 201
    assert (body["ticket"]["customer_id"], body["ticket"]["department"]) == (li_na, "installation")


async def test_a_ticket_without_a_customer(env: DeskEnv) -> None:
    await env.login("admin")
    status, body = await env.call("POST", "/api/tickets", {"type": "inquiry", "summary": "咨询"})
    assert status == 201
    ticket = body["ticket"]
    assert ticket["customer_id"] is ticket["product_id"] is ticket["call_linkedid"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"type": "praise", "summary": "好"},
        {"summary": "好"},
        {"type": "repair", "summary": ""},
        {"type": "repair", "summary": "   "},
        {"type": "repair"},
        {"type": "repair", "summary": "长" * 501},
        {"type": "repair", "summary": "坏了", "customer_id": "1"},
        {"type": "repair", "summary": "坏了", "fields": ["x"]},
        {"type": "repair", "summary": "坏了", "call_id": 5},
        {"type": "repair", "summary": "坏了", "call_id": "1" * 65},
    ],
)
async def test_ticket_validation(env: DeskEnv, body: dict[str, Any]) -> None:
    await env.login("agent1001")
    status, answer = await env.call("POST", "/api/tickets", body)
    assert status == 400 and "error" in answer


@pytest.mark.parametrize(("body", "said"), [
    ({"type": "repair", "summary": "坏了", "customer_id": 999999}, "no such customer"),
    ({"type": "repair", "summary": "坏了", "product_id": 999999}, "no such product"),
])
async def test_a_ticket_naming_an_unknown_id_is_422(env: DeskEnv, body: dict[str, Any], said: str) -> None:
    await env.login("agent1001")
    assert await env.call("POST", "/api/tickets", body) == (422, {"error": said})


async def test_a_ticket_for_someone_elses_product_is_refused(env: DeskEnv) -> None:
    zhang, li_na = await customer_id(env, "张伟"), await customer_id(env, "李娜")
    (washer,) = await product_ids(env, li_na)
    await env.login("agent1001")
    status, answer = await env.call(
        "POST", "/api/tickets",
        {"type": "repair", "summary": "坏了", "customer_id": zhang, "product_id": washer},
    )
    assert (status, answer) == (400, {"error": "the product does not belong to the customer"})
    assert await env.call("GET", f"/api/tickets?customer_id={zhang}") == (200, {"tickets": []})


async def test_ticket_listing_filters(env: DeskEnv) -> None:
    await env.login("agent1001")
    assert await env.call("GET", "/api/tickets") == (200, {"tickets": []})
    assert (await env.call("GET", "/api/tickets?status=open"))[0] == 400
    assert (await env.call("GET", "/api/tickets?customer_id=abc"))[0] == 400
    assert await env.call("GET", "/api/tickets?call_id=nothing") == (200, {"tickets": []})
