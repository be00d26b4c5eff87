"""Customer cards for the screen pop: one round of queries for many numbers, and batching."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from ctiserver.calls.tables import CallRow
from ctiserver.customers.tables import Customer, CustomerPhone, Product
from ctiserver.pops.cards import BatchedCardLookup, CustomerCards
from ctiserver.storage.database import Database
from ctiserver.tickets.store import TicketRepository

START = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)



async def customer(db: Database, name: str, *phones: str) -> int:
    async with db.session() as session:
        row = Customer(name=name, level="vip", province="广东省", city="深圳市")
        session.add(row)
        await session.flush()
        for phone in phones:
            session.add(CustomerPhone(customer_id=row.id, number=phone, normalized=phone))
        await session.commit()
        return row.id


async def test_cards_of_several_numbers_in_one_round(db: Database) -> None:
    zhang = await customer(db, "张伟", "13800138000", "075512345678")
    li = await customer(db, "李娜", "13912345678", "075512345678")  # the same landline
    async with db.session() as session:
        session.add(Product(customer_id=zhang, category="空调", model="KFR-35GW", serial="SN1"))
        session.add_all(
            CallRow(linkedid=f"c{n}", caller_number="13800138000", started_at=START + dt.timedelta(hours=n),
                 ended_at=START + dt.timedelta(hours=n, minutes=3), duration_seconds=180.0, customer_id=zhang)
            for n in range(7)
        )
        session.add(CallRow(linkedid="live", started_at=START, customer_id=zhang))  # not ended: not listed
        await session.commit()
    tickets = TicketRepository(db)
    open_ticket = await tickets.open("repair", "不制冷", {}, customer_id=zhang)
    done = await tickets.open("inquiry", "保修期", {}, customer_id=zhang)
    await tickets.move(done.id, "cancelled")

    found = await CustomerCards(db).for_phones(["+86 138-0013-8000", "0755-1234 5678", "13700000000", "   "])

    (card,) = found["+86 138-0013-8000"]
    assert (card["id"], card["name"], card["level"]) == (zhang, "张伟", "vip")
    assert [p["number"] for p in card["phones"]] == ["13800138000", "075512345678"]
    assert [p["model"] for p in card["products"]] == ["KFR-35GW"]
    assert [t["number"] for t in card["open_tickets"]] == [open_ticket.number]
    assert [c["id"] for c in card["recent_calls"]] == ["c6", "c5", "c4", "c3", "c2"]
    assert [c["name"] for c in found["0755-1234 5678"]] == ["张伟", "李娜"], "a shared landline lists both"
    assert found["0755-1234 5678"][1]["id"] == li
    assert found["13700000000"] == [] and found["   "] == []
    assert await CustomerCards(db).for_phone("13800138000") == [card]


class Rounds:
    """A fetch whose rounds the test lets finish one by one."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.fail = False

    async def __call__(self, numbers: list[str]) -> dict[str, list[dict[str, Any]]]:
        self.batches.append(sorted(numbers))
        await self.gate.wait()
        self.gate.clear()
        if self.fail:
            raise RuntimeError("database down")
        return {n: [{"name": f"card of {n}"}] for n in numbers}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_lookups_asked_during_a_round_share_the_next_one() -> None:
    rounds = Rounds()
    lookup = BatchedCardLookup(rounds)
    first = asyncio.create_task(lookup("a"))
    await settle()
    later = [asyncio.create_task(lookup(n)) for n in ("b", "c", "b")]
    given_up = asyncio.create_task(lookup("c"))
    await settle()
    assert rounds.batches == [["a"]], "one round at a time"
    rounds.gate.set()
    assert await first == [{"name": "card of a"}]
    await settle()
    assert rounds.batches == [["a"], ["b", "c"]]
    given_up.cancel()
    await settle()
    rounds.gate.set()
    assert [await task for task in later] == [[{"name": f"card of {n}"}] for n in ("b", "c", "b")]
    assert given_up.cancelled()


async def test_a_failed_round_fails_its_lookups_and_the_next_round_works() -> None:
    rounds = Rounds()
    lookup = BatchedCardLookup(rounds)
    rounds.fail = True
    failing = asyncio.create_task(lookup("a"))
    await settle()
    rounds.gate.set()
    with pytest.raises(RuntimeError, match="database down"):
        await failing
    rounds.fail = False
    working = asyncio.create_task(lookup("a"))
    await settle()
    rounds.gate.set()
    assert await working == [{"name": "card of a"}]
