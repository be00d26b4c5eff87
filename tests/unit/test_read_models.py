"""The read models the faces offer other features (what the SMS notices read instead of the
tickets', customers' and users' tables): values, not rows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ctiserver.customers import CustomerContact, CustomerRepository, ProductInfo
from ctiserver.customers.tables import Product
from ctiserver.notices.store import NoticeStore
from ctiserver.storage.database import Database
from ctiserver.tickets import TicketRepository
from ctiserver.users import UserRepository


async def test_a_customers_contact_and_product(db: Database) -> None:
    customers = CustomerRepository(db)
    made = await customers.create("张三", "010 6552 9988", city="北京市", district="朝阳区", street="朝阳路1号")
    await customers.update(made.id, phones=[("010 6552 9988", None), ("138 0013 8000", "手机")])
    async with db.session() as session:
        row = Product(customer_id=made.id, category="空调", model="KFR-35GW")
        session.add(row)
        await session.commit()
        product_id = row.id
    contact = await customers.contact(made.id)
    assert contact == CustomerContact(made.id, "张三", ("01065529988", "13800138000"), "北京市朝阳区朝阳路1号")
    with pytest.raises(dataclasses.FrozenInstanceError):
        contact.name = "李四"  # type: ignore[misc]
    assert await customers.product(product_id) == ProductInfo(product_id, made.id, "空调", "KFR-35GW")
    assert await customers.contact(made.id + 1) is None
    assert await customers.product(product_id + 1) is None


async def test_a_notices_facts_come_from_the_read_models(db: Database) -> None:
    customers, users, tickets = CustomerRepository(db), UserRepository(db), TicketRepository(db)
    made = await customers.create("张三", "010 6552 9988", city="北京市", street="朝阳路1号")
    await customers.update(made.id, phones=[("010 6552 9988", None), ("138 0013 8000", None)])
    async with db.session() as session:
        row = Product(customer_id=made.id, category="空调", model="KFR-35GW")
        session.add(row)
        await session.commit()
        product_id = row.id
    engineer = await users.add("li", "a long password 1", "staff", "李师傅", department="repair")
    ticket = await tickets.open("repair", "不制冷", {}, customer_id=made.id, product_id=product_id, source="agent")
    store = NoticeStore(db, tickets=tickets, customers=customers, users=users)
    assert await store.set_engineer_phone(engineer.id, "13900139000")
    assert not await store.set_engineer_phone(engineer.id + 100, "13900139000")
    await tickets.dispatch(ticket.id, "repair", None)
    start = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
    await tickets.schedule(ticket.id, start, start + dt.timedelta(hours=2), engineer.id)
    facts = await store.facts(ticket.id)
    assert facts is not None
    assert (facts.customer, facts.customer_phone, facts.address, facts.product, facts.fault) == (
        "张三", "13800138000", "北京市朝阳路1号", "空调 KFR-35GW", "不制冷")
    assert (facts.engineer, facts.engineer_phone) == ("李师傅", "13900139000")
    assert await store.customer_exists(made.id) and not await store.customer_exists(made.id + 1)
    assert await store.facts(ticket.id + 1) is None
