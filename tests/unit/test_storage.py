"""Storage: phone normalisation, users, call records, demo data (SQLite)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from ctiserver.calls.store import CallRepository
from ctiserver.calls.tables import CallRow
from ctiserver.customers.phones import normalize_phone
from ctiserver.customers.tables import Customer, CustomerPhone
from ctiserver.lab.demo import seed_demo
from ctiserver.storage.database import Database
from ctiserver.users.store import UserInfo, UserRepository
from ctiserver.users.tables import User

#: argon2 at its cheapest: the tests are about the logic, not the cost
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)



@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086 138 0013 8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("013800138000", "13800138000"),
        (" (138) 0013-8000 ", "13800138000"),
        ("010-6552 8899", "01065528899"),
        ("(028) 8555-1234", "02885551234"),
        ("+86 10 6552 8899", "01065528899"),
        ("+86 (0)10 6552 8899", "01065528899"),
        ("0086 755 2667 8899", "075526678899"),
        ("400-800-1234", "4008001234"),
        ("+86 400 800 1234", "4008001234"),
        ("1001", "1001"),
        ("86123456", "86123456"),
        ("", ""),
        ("anonymous", ""),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


async def test_users_add_and_authenticate(db: Database) -> None:
    users = UserRepository(db, FAST_HASHER)
    added = await users.add("agent1001", "s3cret", "agent", "王小明")
    assert added == UserInfo(added.id, "agent1001", "agent", "王小明")
    assert await users.authenticate("agent1001", "s3cret") == added
    assert await users.authenticate("agent1001", "wrong") is None
    assert await users.authenticate("nobody", "s3cret") is None
    assert await users.get(added.id) == added
    assert await users.get(added.id + 1000) is None


async def test_users_rejects_duplicates_and_unknown_roles(db: Database) -> None:
    users = UserRepository(db, FAST_HASHER)
    await users.add("boss", "pw", "supervisor")
    with pytest.raises(ValueError, match="already exists"):
        await users.add("boss", "other", "admin")
    with pytest.raises(ValueError, match="unknown role"):
        await users.add("root", "pw", "superuser")


async def test_password_hash_is_argon2_and_upgraded_on_login(db: Database) -> None:
    await UserRepository(db, FAST_HASHER).add("agent1002", "pw", "agent")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert await UserRepository(db, stronger).authenticate("agent1002", "pw") is not None
    async with db.session() as session:
        stored = await session.scalar(select(User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$")
    assert not stronger.check_needs_rehash(stored)


@dataclasses.dataclass
class FakeCall:
    linkedid: str
    started_at: float
    caller_number: str | None = "13800138000"
    caller_name: str | None = "张伟"
    answered_at: float | None = None
    ended_at: float | None = None
    queue: str | None = "support"
    agent: str | None = None
    wait_seconds: float | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None


T0 = 1_714_523_400.0  # 2024-05-01T00:30:00Z


async def test_call_save_upserts_and_lists_newest_first(db: Database) -> None:
    calls = CallRepository(db)
    first = FakeCall("1714523400.1", T0)
    await calls.save(first)
    assert await calls.list_ended() == []  # still active

    first.answered_at, first.agent, first.wait_seconds = T0 + 12.5, "1001", 12.5
    first.ended_at, first.hangup_cause, first.hangup_cause_text = T0 + 72.25, 16, "Normal Clearing"
    await calls.save(first)
    await calls.save(FakeCall("1714523500.7", T0 + 100, ended_at=T0 + 130, caller_number=None))

    ended = await calls.list_ended()
    assert [c["id"] for c in ended] == ["1714523500.7", "1714523400.1"]
    assert ended[1] == {
        "id": "1714523400.1",
        "state": "ended",
        "caller_number": "13800138000",
        "caller_name": "张伟",
        "started_at": "2024-05-01T00:30:00.000+00:00",
        "answered_at": "2024-05-01T00:30:12.500+00:00",
        "ended_at": "2024-05-01T00:31:12.250+00:00",
        "duration": 72.25,
        "queue": "support",
        "agent": "1001",
        "wait_seconds": 12.5,
        "hangup_cause": 16,
        "hangup_cause_text": "Normal Clearing",
        "customer_id": None,
    }
    assert [c["id"] for c in await calls.list_ended(limit=1)] == ["1714523500.7"]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CallRow)) == 2


async def test_call_is_linked_to_customer_by_normalised_number(db: Database) -> None:
    async with db.session() as session:
        customer = Customer(name="张伟", level="vip")
        session.add(customer)
        await session.flush()
        session.add(CustomerPhone(customer_id=customer.id, number="+86 138-0013-8000",
                                  normalized=normalize_phone("+86 138-0013-8000")))
        await session.commit()
    calls = CallRepository(db)
    await calls.save(FakeCall("1.1", T0, caller_number="013800138000", ended_at=T0 + 5))
    await calls.save(FakeCall("1.2", T0 + 10, caller_number="13999999999", ended_at=T0 + 15))
    by_id = {c["id"]: c for c in await calls.list_ended()}
    assert by_id["1.1"]["customer_id"] == customer.id
    assert by_id["1.2"]["customer_id"] is None


async def test_call_keeps_chinese_and_markup_as_text(db: Database) -> None:
    calls = CallRepository(db)
    name = "<img src=x onerror=alert(1)> 李娜"
    await calls.save(FakeCall("2.1", T0, caller_name=name, ended_at=T0 + 1))
    (listed,) = await calls.list_ended()
    assert listed["caller_name"] == name


async def test_seed_demo_is_idempotent(db: Database) -> None:
    first = await seed_demo(db, password="lab", hasher=FAST_HASHER)
    assert first.customers >= 12 and first.products > 0 and first.phones > first.customers
    assert first.agents == 4
    assert first.usernames == (
        "agent1001", "agent1002", "agent1003", "agent1004", "supervisor", "admin"
    )
    assert first.added > 0
    again = await seed_demo(db, password="other", hasher=FAST_HASHER)
    assert again == dataclasses.replace(first, added=0)

    users = UserRepository(db, FAST_HASHER)
    assert (await users.authenticate("agent1003", "lab")) is not None
    assert (await users.authenticate("agent1003", "other")) is None
    supervisor = await users.authenticate("supervisor", "lab")
    assert supervisor is not None and supervisor.role == "supervisor"
    admin = await users.authenticate("admin", "lab")
    assert admin is not None and admin.role == "admin"


async def test_seed_demo_has_zhang_wei_reachable_by_phone(db: Database) -> None:
    await seed_demo(db, password="lab", hasher=FAST_HASHER)
    async with db.session() as session:
        customer = await session.scalar(
            select(Customer)
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.normalized == "13800138000")
        )
        vip = await session.scalar(select(func.count()).where(Customer.level == "vip"))
        english = await session.scalar(select(func.count()).where(Customer.name.like("% %")))
    assert customer is not None and customer.name == "张伟"
    assert customer.province and customer.city and customer.district and customer.address_detail
    assert vip and english
    seeded_at = customer.created_at
    assert seeded_at.tzinfo is not None and seeded_at <= dt.datetime.now(dt.UTC)
