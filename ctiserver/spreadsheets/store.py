"""The customer import's writes and the CSV exports' reads.

The import is re-runnable: a row's customer is the one of that name with one of the
row's phones (a new customer otherwise, even on a shared landline), a product is known
by its serial, or by its model for that customer when it has none. What is already
there is left as it is. One transaction per batch of rows; a batch the database refuses
is tried again row by row, so one bad row costs only itself and every row is reported.

A batch is read in a few queries (the customers of its names and phones, the owners of
its serials, those customers' phones and products), decided row by row, and written in
three bulk statements: round trips and the unit of work, not rows, are what a loaded
machine pays for.

The import takes turns with the server's other writers (``Database.writing``), a batch
of ``BATCH`` rows a turn, so a ticket the IVR opens meanwhile waits one short turn on
SQLite instead of meeting its lock (and, before, giving up after its busy timeout).
``pause`` leaves a moment between turns for writers of other processes
(the import command beside a running server).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.customers import Customer, CustomerPhone, Product, ProductModel
from ctiserver.spreadsheets.labels import category_codes
from ctiserver.spreadsheets.model import CustomerLine, Problem, ProductLine, Refusal
from ctiserver.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 100


@dataclass
class ImportReport:
    #: rows that passed the checks
    accepted: int = 0
    #: of those, rows that added something (the others were there already)
    added_rows: int = 0
    customers: int = 0
    phones: int = 0
    products: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.accepted - self.added_rows

    def lines(self) -> list[str]:
        out = [p.text() for p in sorted(self.problems, key=lambda p: p.line)]
        out.append(
            f"imported {self.accepted} row(s): {self.customers} customer(s), {self.phones} phone(s), "
            f"{self.products} product(s) added, {self.unchanged} row(s) already there; "
            f"rejected {len(self.problems)} row(s)"
        )
        return out


@dataclass
class _Added:
    customers: int = 0
    phones: int = 0
    products: int = 0

    def any(self) -> bool:
        return bool(self.customers or self.phones or self.products)


class CustomerImport:
    def __init__(self, db: Database, *, pause: float = 0.0) -> None:
        self._db = db
        self._pause = pause

    async def catalogue(self) -> dict[str, str]:
        """The product catalogue, model -> category (empty: every model is accepted)."""
        async with self._db.session() as session:
            rows = await session.execute(select(ProductModel.model, ProductModel.category))
            return {row.model: row.category for row in rows}

    async def run(self, rows: Sequence[CustomerLine], problems: Sequence[Problem] = ()) -> ImportReport:
        report = ImportReport(problems=list(problems))
        start = 0
        while start < len(rows):
            batch = rows[start:start + BATCH]
            try:
                outcomes = await self._batch(batch)
            except SQLAlchemyError:
                log.warning("a batch of the customer import failed; trying its rows one by one", exc_info=True)
                outcomes = []
                for row in batch:
                    try:
                        outcomes += await self._batch([row])
                    except SQLAlchemyError as exc:
                        outcomes.append((row, Refusal("database_error", "database error: {error}",
                                                       error=type(exc).__name__)))
            start += len(outcomes)
            if self._pause:
                await asyncio.sleep(self._pause)
            for row, outcome in outcomes:
                if isinstance(outcome, str):
                    report.problems.append(Problem(row.line, outcome))
                    continue
                report.accepted += 1
                report.added_rows += outcome.any()
                report.customers += outcome.customers
                report.phones += outcome.phones
                report.products += outcome.products
        return report

    async def _batch(self, rows: Sequence[CustomerLine]) -> list[tuple[CustomerLine, _Added | str]]:
        """The rows in one transaction, in the writers' turn."""
        async with self._db.writing(), self._db.session() as session, session.begin():
            return await _import_rows(session, rows)


class _New:
    """A customer a row of the batch adds: its id once inserted."""

    def __init__(self, row: CustomerLine) -> None:
        self.row = row
        self.id = 0


_Owner = int | _New


class _Known:
    """What the database holds about a batch's rows, read in a few queries, and what
    the batch's earlier rows add (a later row of the batch sees them, as the database would)."""

    def __init__(self) -> None:
        #: (name, phone key) -> the customer with that phone (the lowest phone id: the database's first)
        self.customer_of: dict[tuple[str, str], tuple[int, _Owner]] = {}
        self.serial_owner: dict[str, _Owner] = {}
        self.phones: defaultdict[_Owner, set[str]] = defaultdict(set)
        #: (customer, model) of the products without a serial
        self.models: set[tuple[_Owner, str]] = set()
        self._order = 1 << 62  # phones the batch adds come after the database's

    async def read(self, session: AsyncSession, rows: Sequence[CustomerLine]) -> None:
        names = {row.name for row in rows}
        keys = {key for row in rows for key in row.keys}
        found = await session.execute(
            select(CustomerPhone.id, Customer.id, Customer.name, CustomerPhone.normalized)
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(Customer.name.in_(names), CustomerPhone.normalized.in_(keys)).order_by(CustomerPhone.id)
        )
        for phone_id, customer_id, name, key in found:
            self.customer_of.setdefault((name, key), (phone_id, customer_id))
        serials = {row.product.serial for row in rows if row.product is not None and row.product.serial}
        if serials:
            owners = await session.execute(
                select(Product.serial, Product.customer_id).where(Product.serial.in_(serials)).order_by(Product.id)
            )
            for serial, customer_id in owners:
                if serial is not None:
                    self.serial_owner.setdefault(serial, customer_id)
        ids = {customer_id for _, customer_id in self.customer_of.values()}
        if ids:
            for customer_id, key in await session.execute(
                select(CustomerPhone.customer_id, CustomerPhone.normalized).where(CustomerPhone.customer_id.in_(ids))
            ):
                self.phones[customer_id].add(key)
            for customer_id, model in await session.execute(
                select(Product.customer_id, Product.model).where(Product.customer_id.in_(ids), Product.serial.is_(None))
            ):
                self.models.add((customer_id, model))

    def customer(self, row: CustomerLine) -> _Owner | None:
        found = [self.customer_of[(row.name, key)] for key in row.keys if (row.name, key) in self.customer_of]
        return min(found, key=lambda found: found[0])[1] if found else None

    def add_phone(self, owner: _Owner, name: str, key: str) -> None:
        self.phones[owner].add(key)
        self._order += 1
        self.customer_of.setdefault((name, key), (self._order, owner))


async def _import_rows(session: AsyncSession, rows: Sequence[CustomerLine]) -> list[tuple[CustomerLine, _Added | str]]:
    """Add what each row has that the database has not; a row the database contradicts is
    refused (its reason) before anything of it is written."""
    known = _Known()
    await known.read(session, rows)
    outcomes: list[tuple[CustomerLine, _Added | str]] = []
    new_customers: list[_New] = []
    phones: list[tuple[_Owner, str, str]] = []
    products: list[tuple[_Owner, ProductLine]] = []
    for row in rows:
        added = _Added()
        owner = known.customer(row)
        product = row.product
        has_product = False
        if product is not None and product.serial is not None:
            holder = known.serial_owner.get(product.serial)
            if holder is not None and holder != owner:
                outcomes.append((row, Refusal(
                    "serial_taken", 'duplicate: serial "{serial}" belongs to another customer', serial=product.serial)))
                continue
            has_product = holder is not None
        elif product is not None and owner is not None:
            has_product = (owner, product.model) in known.models
        if owner is None:
            owner = _New(row)
            new_customers.append(owner)
            added.customers = 1
        for number, key in row.phones:
            if key not in known.phones[owner]:
                known.add_phone(owner, row.name, key)
                phones.append((owner, number, key))
                added.phones += 1
        if product is not None and not has_product:
            if product.serial is not None:
                known.serial_owner[product.serial] = owner
            else:
                known.models.add((owner, product.model))
            products.append((owner, product))
            added.products = 1
        outcomes.append((row, added))
    # bulk statements (executemany, the ids returned in order): no unit of work for a batch
    if new_customers:
        ids = (await session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
            [{"name": new.row.name, "level": new.row.level, **new.row.address} for new in new_customers],
        )).all()
        for new, customer_id in zip(new_customers, ids, strict=True):
            new.id = customer_id

    def id_of(owner: _Owner) -> int:
        return owner if isinstance(owner, int) else owner.id

    if phones:
        await session.execute(insert(CustomerPhone), [
            {"customer_id": id_of(owner), "number": number, "normalized": key} for owner, number, key in phones
        ])
    if products:
        # a category as an export says it (洗衣机, Washing machine) is stored as its code
        categories = category_codes()
        await session.execute(insert(Product), [
            {"customer_id": id_of(owner), "model": product.model,
             "category": categories.get(product.category.casefold(), product.category),
             "serial": product.serial, "installed_on": product.installed_on}
            for owner, product in products
        ])
    return outcomes
