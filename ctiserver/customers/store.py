"""Customers as the IVR, screen pop and agent desktop see them: found by any of their phones.

A customer's card and history (with their tickets and calls) are the desk's, beside the
pop that shows them: ``ctiserver.pops.cards``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ctiserver.customers.phones import DEFAULT_REGION, normalize_phone
from ctiserver.customers.tables import Customer, CustomerPhone, Product
from ctiserver.storage.database import Database
from ctiserver.vocabulary import CUSTOMER_LEVELS

MAX_NAME = 100
MIN_PHONE_DIGITS = 5
MAX_PHONE = 64
#: address field -> its longest value (the column's length)
ADDRESS_FIELDS = {
    "province": 64, "city": 64, "district": 64, "street": 128, "address_detail": 255,
}


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
    def __init__(self, db: Database, region: str = DEFAULT_REGION) -> None:
        """``region``: the hotline's, in whose plan numbers without a country code are read."""
        self._db = db
        self._region = region

    async def find_by_phone(self, number: str) -> list[CustomerSummary]:
        """Every customer with a phone equal to ``number`` once normalised, oldest phone first.

        A shared landline can belong to several customers, hence a list.
        """
        normalized = normalize_phone(number, self._region)
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

    async def create(
        self,
        name: str,
        phone: str,
        *,
        level: str = "normal",
        label: str | None = None,
        **address: str | None,
    ) -> CustomerSummary:
        """Add a customer with one phone (the quick-create form of a pop); ValueError if invalid.

        A phone another customer already has is accepted: family members share landlines.
        """
        name, phone = name.strip(), phone.strip()
        if not name or len(name) > MAX_NAME:
            raise ValueError(f"name must have 1 to {MAX_NAME} characters")
        normalized = normalize_phone(phone, self._region)
        if len(normalized) < MIN_PHONE_DIGITS or len(phone) > MAX_PHONE:
            raise ValueError(f"phone must be a number of at least {MIN_PHONE_DIGITS} digits")
        if level not in CUSTOMER_LEVELS:
            raise ValueError(f"level must be one of {', '.join(CUSTOMER_LEVELS)}")
        values = _address(address)
        async with self._db.session() as session:
            customer = Customer(name=name, level=level, **values)
            session.add(customer)
            await session.flush()
            created = _summary(customer)
            session.add(
                CustomerPhone(
                    customer_id=customer.id, number=phone, normalized=normalized, label=label
                )
            )
            await session.commit()
        return created

    async def product_owner(self, product_id: int) -> int | None:
        """The id of the customer owning the product; None for an unknown product."""
        async with self._db.session() as session:
            return await session.scalar(select(Product.customer_id).where(Product.id == product_id))


def _address(given: dict[str, str | None]) -> dict[str, str | None]:
    unknown = set(given) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValueError(f"unknown address fields: {', '.join(sorted(unknown))}")
    values: dict[str, str | None] = {}
    for field, longest in ADDRESS_FIELDS.items():
        value = (given.get(field) or "").strip()
        if len(value) > longest:
            raise ValueError(f"{field} must have at most {longest} characters")
        values[field] = value or None
    return values
