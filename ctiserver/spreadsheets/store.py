"""The customer import's writes and the CSV exports' reads.

The import is re-runnable: a row's customer is the one of that name with one of the
row's phones (a new customer otherwise, even on a shared landline), a product is known
by its serial, or by its model for that customer when it has none. What is already
there is left as it is. One transaction per batch of rows; a batch the database refuses
is tried again row by row, so one bad row costs only itself and every row is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.customers import Customer, CustomerPhone, Product, ProductModel
from ctiserver.spreadsheets.model import CustomerLine, Problem
from ctiserver.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 200


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


class _RowRefused(Exception):
    """The database holds something that contradicts the row."""


class CustomerImport:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def catalogue(self) -> dict[str, str]:
        """The product catalogue, model -> category (empty: every model is accepted)."""
        async with self._db.session() as session:
            rows = await session.execute(select(ProductModel.model, ProductModel.category))
            return {row.model: row.category for row in rows}

    async def run(self, rows: Sequence[CustomerLine], problems: Sequence[Problem] = ()) -> ImportReport:
        report = ImportReport(problems=list(problems))
        for start in range(0, len(rows), BATCH):
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
                        outcomes.append((row, f"database error: {type(exc).__name__}"))
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
        outcomes: list[tuple[CustomerLine, _Added | str]] = []
        async with self._db.session() as session, session.begin():
            for row in rows:
                try:
                    outcomes.append((row, await _import_row(session, row)))
                except _RowRefused as exc:
                    outcomes.append((row, str(exc)))
        return outcomes


async def _import_row(session: AsyncSession, row: CustomerLine) -> _Added:
    """Add what the row has that the database has not; _RowRefused (before any write) if
    the database contradicts it."""
    added = _Added()
    customer_id = await session.scalar(
        select(Customer.id).join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(Customer.name == row.name, CustomerPhone.normalized.in_(row.keys))
        .order_by(CustomerPhone.id).limit(1)
    )
    product = row.product
    has_product = False
    if product is not None and product.serial is not None:
        owner = await session.scalar(select(Product.customer_id).where(Product.serial == product.serial).limit(1))
        if owner is not None and owner != customer_id:
            raise _RowRefused(f'duplicate: serial "{product.serial}" belongs to another customer')
        has_product = owner is not None
    elif product is not None and customer_id is not None:
        has_product = await session.scalar(select(Product.id).where(
            Product.customer_id == customer_id, Product.model == product.model, Product.serial.is_(None)
        ).limit(1)) is not None
    if customer_id is None:
        customer = Customer(name=row.name, level=row.level, **row.address)
        session.add(customer)
        await session.flush()
        customer_id = customer.id
        added.customers = 1
    known = set((await session.scalars(
        select(CustomerPhone.normalized).where(CustomerPhone.customer_id == customer_id)
    )).all())
    for number, key in row.phones:
        if key not in known:
            session.add(CustomerPhone(customer_id=customer_id, number=number, normalized=key))
            added.phones += 1
    if product is not None and not has_product:
        session.add(Product(
            customer_id=customer_id, category=product.category, model=product.model,
            serial=product.serial, installed_on=product.installed_on,
        ))
        added.products = 1
    await session.flush()
    return added
