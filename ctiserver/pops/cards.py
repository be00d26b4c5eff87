"""Customer cards (the CARD of docs/agent-desktop.md) and histories, read for the screen pop
and the desk's customer routes (``http.py``).

A card brings together what three features own: the customer (``ctiserver.customers``),
their open tickets (``ctiserver.tickets``) and recent calls (``ctiserver.calls``), read
through those features' read models; so it lives here, above all three, beside the pop.

A card is read while an agent's phone rings, often for many calls at once, so it
is read with plain Core selects on one connection (no ORM objects, no identity
map): the customers matched by the phones, then their phones, products, open
tickets and recent calls, one query each for all the matched customers. With
SQLite every query costs several hops to aiosqlite's thread, so a burst of calls
is served by ``BatchedCardLookup``: the numbers asked while a round of queries
runs are looked up together in the next round (bench/screenpop.py ``--straight``,
where every lookup happens at ring time).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ctiserver.calls import CallRepository, CallRow, call_record
from ctiserver.customers import DEFAULT_REGION, Customer, CustomerPhone, Product, normalize_phone
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket, TicketRepository, ticket_dict
from ctiserver.vocabulary import OPEN_TICKET_STATUSES

CARD_RECENT_CALLS = 5
HISTORY_CALLS = 100

_customers = Customer.__table__
_phones = CustomerPhone.__table__
_products = Product.__table__
_tickets = Ticket.__table__
_calls = CallRow.__table__


class CustomerCards:
    def __init__(
        self, db: Database, region: str = DEFAULT_REGION, *,
        calls: CallRepository | None = None, tickets: TicketRepository | None = None,
    ) -> None:
        """``calls`` and ``tickets``: the composition root's repositories (made here when
        not given, e.g. in tests), read for a customer's history."""
        self._db = db
        self._region = region
        self._calls = calls if calls is not None else CallRepository(db, region)
        self._tickets = tickets if tickets is not None else TicketRepository(db)

    async def for_phone(self, number: str) -> list[dict[str, Any]]:
        """The card of every customer with a phone equal to ``number`` once normalised,
        in the order their matching phones were added (a shared landline matches several)."""
        return (await self.for_phones([number]))[number]

    async def for_phones(self, numbers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """:meth:`for_phone` of each number, in one round of queries for them all."""
        normalized = {number: normalize_phone(number, self._region) for number in numbers}
        wanted = sorted({n for n in normalized.values() if n})
        customers_of: defaultdict[str, list[int]] = defaultdict(list)
        cards: dict[int, dict[str, Any]] = {}
        if wanted:
            async with self._db.engine.connect() as conn:
                matched = await conn.execute(
                    select(_phones.c.normalized, _phones.c.customer_id)
                    .where(_phones.c.normalized.in_(wanted))
                    .order_by(_phones.c.id)
                )
                for row in matched:
                    if row.customer_id not in customers_of[row.normalized]:
                        customers_of[row.normalized].append(row.customer_id)
                ids = sorted({cid for found in customers_of.values() for cid in found})
                if ids:
                    cards = {card["id"]: card for card in await _cards(conn, ids)}
        return {
            number: [cards[cid] for cid in customers_of.get(n, []) if cid in cards]
            for number, n in normalized.items()
        }

    async def for_customers(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The cards of those customers, in that order (unknown ids left out)."""
        if not ids:
            return []
        async with self._db.engine.connect() as conn:
            cards = {card["id"]: card for card in await _cards(conn, sorted(set(ids)))}
        return [cards[cid] for cid in ids if cid in cards]

    async def for_customer(self, customer_id: int) -> dict[str, Any] | None:
        """The card, or None for an unknown customer."""
        async with self._db.engine.connect() as conn:
            cards = await _cards(conn, [customer_id])
        return cards[0] if cards else None

    async def history(self, customer_id: int) -> dict[str, list[dict[str, Any]]] | None:
        """``{"calls": [CALL_RECORD], "tickets": [TICKET]}`` newest first; None if unknown."""
        async with self._db.engine.connect() as conn:
            known = await conn.scalar(select(_customers.c.id).where(_customers.c.id == customer_id))
        if known is None:
            return None
        calls = await self._calls.list_ended_for_customer(customer_id, HISTORY_CALLS)
        tickets = await self._tickets.list_for_customer(customer_id)
        return {"calls": calls, "tickets": [ticket_dict(t) for t in tickets]}


async def _cards(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    customers = {
        row.id: row
        for row in await conn.execute(select(_customers).where(_customers.c.id.in_(ids)))
    }
    if not customers:
        return []
    phones = await _by_customer(conn, select(_phones).where(_phones.c.customer_id.in_(ids))
                                .order_by(_phones.c.id))
    products = await _by_customer(conn, select(_products).where(_products.c.customer_id.in_(ids))
                                  .order_by(_products.c.id))
    tickets = await _by_customer(conn, select(_tickets).where(
        _tickets.c.customer_id.in_(ids), _tickets.c.status.in_(OPEN_TICKET_STATUSES)
    ).order_by(_tickets.c.id.desc()))
    calls = await _recent_calls(conn, ids)
    return [
        _card(customers[cid], phones[cid], products[cid], tickets[cid], calls[cid])
        for cid in ids if cid in customers
    ]


async def _by_customer(conn: AsyncConnection, query: Any) -> defaultdict[int, list[Row[Any]]]:
    grouped: defaultdict[int, list[Row[Any]]] = defaultdict(list)
    for row in await conn.execute(query):
        grouped[row.customer_id].append(row)
    return grouped


async def _recent_calls(conn: AsyncConnection, ids: Sequence[int]) -> defaultdict[int, list[Row[Any]]]:
    """The last ended calls of each customer, newest first (a window, so one query for all)."""
    newest_first = func.row_number().over(
        partition_by=_calls.c.customer_id,
        order_by=(_calls.c.ended_at.desc(), _calls.c.id.desc()),
    ).label("newest")
    ranked = (
        select(_calls, newest_first)
        .where(_calls.c.customer_id.in_(ids), _calls.c.ended_at.is_not(None))
        .subquery()
    )
    query = (
        select(ranked)
        .where(ranked.c.newest <= CARD_RECENT_CALLS)
        .order_by(ranked.c.customer_id, ranked.c.newest)
    )
    return await _by_customer(conn, query)


def _card(
    customer: Row[Any],
    phones: list[Row[Any]],
    products: list[Row[Any]],
    tickets: list[Row[Any]],
    calls: list[Row[Any]],
) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "level": customer.level,
        "phones": [{"number": p.number, "label": p.label} for p in phones],
        "address": {
            "province": customer.province,
            "city": customer.city,
            "district": customer.district,
            "street": customer.street,
            "detail": customer.address_detail,
        },
        "products": [
            {
                "id": p.id,
                "category": p.category,
                "model": p.model,
                "serial": p.serial,
                "installed_on": None if p.installed_on is None else p.installed_on.isoformat(),
            }
            for p in products
        ],
        "open_tickets": [ticket_dict(t) for t in tickets],
        "recent_calls": [call_record(c) for c in calls],
    }


class BatchedCardLookup:
    """``lookup(number)`` for the screen pop; lookups asked while a round of queries runs
    wait for the next round, which serves them all (one round at a time).

    Under a burst of calls this turns N lookups of several queries each into a few
    rounds, instead of N rounds competing for the same database thread.
    """

    def __init__(
        self, fetch: Callable[[list[str]], Awaitable[dict[str, list[dict[str, Any]]]]]
    ) -> None:
        self._fetch = fetch
        self._waiting: dict[str, asyncio.Future[list[dict[str, Any]]]] = {}
        self._round: asyncio.Task[None] | None = None

    async def __call__(self, number: str) -> list[dict[str, Any]]:
        future = self._waiting.get(number)
        if future is None:
            future = self._waiting[number] = asyncio.get_running_loop().create_future()
            if self._round is None:
                self._round = asyncio.get_running_loop().create_task(self._rounds())
        # shielded: one caller giving up (its call ended) must not cancel the others' answer
        return await asyncio.shield(future)

    async def _rounds(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    found = await self._fetch(list(batch))
                except Exception as exc:  # noqa: BLE001  (each caller logs it as its lookup's failure)
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for number, future in batch.items():
                    if not future.done():
                        future.set_result(found.get(number, []))
        finally:
            self._round = None

