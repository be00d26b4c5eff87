"""Customers as the IVR and screen pop see them: found by any of their phone numbers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.storage.database import Database
from ctiserver.storage.models import Customer, CustomerPhone
from ctiserver.storage.phones import normalize_phone


@dataclass(frozen=True)
class CustomerSummary:
    id: int
    name: str
    level: str
    province: str | None
    city: str | None


def _summary(row: Customer) -> CustomerSummary:
    return CustomerSummary(row.id, row.name, row.level, row.province, row.city)


class CustomerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find_by_phone(self, number: str) -> list[CustomerSummary]:
        """Every customer with a phone equal to ``number`` once normalised, oldest phone first.

        A shared landline can belong to several customers, hence a list.
        """
        normalized = normalize_phone(number)
        if not normalized:
            return []
        async with self._db.session() as session:
            rows = await session.execute(
                select(Customer)
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.normalized == normalized)
                .order_by(CustomerPhone.id)
            )
            found: dict[int, CustomerSummary] = {}
            for (customer,) in rows:
                found.setdefault(customer.id, _summary(customer))
            return list(found.values())

    async def get(self, customer_id: int) -> CustomerSummary | None:
        async with self._db.session() as session:
            row = await session.get(Customer, customer_id)
            return None if row is None else _summary(row)
