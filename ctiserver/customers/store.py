"""Customers as the IVR, screen pop and agent desktop see them: found by any of their phones.

A customer's card and history (with their tickets and calls) are the desk's, beside the
pop that shows them: ``ctiserver.pops.cards``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

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


@dataclass(frozen=True)
class CustomerContact:
    """How a customer is reached: the name, every phone (normalised, oldest first) and the
    address as one line (province to detail, the parts given)."""

    id: int
    name: str
    phones: tuple[str, ...]
    address: str


@dataclass(frozen=True)
class ProductInfo:
    """A product a customer owns, by category and model."""

    id: int
    customer_id: int
    category: str
    model: str


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

    async def contact(self, customer_id: int) -> CustomerContact | None:
        async with self._db.session() as session:
            row = await session.get(Customer, customer_id)
            if row is None:
                return None
            phones = await session.scalars(
                select(CustomerPhone.normalized).where(CustomerPhone.customer_id == customer_id)
                .order_by(CustomerPhone.id)
            )
            address = "".join((getattr(row, part) or "").strip() for part in ADDRESS_FIELDS)
            return CustomerContact(row.id, row.name, tuple(phones), address)

    async def product(self, product_id: int) -> ProductInfo | None:
        async with self._db.session() as session:
            row = await session.get(Product, product_id)
            return None if row is None else ProductInfo(row.id, row.customer_id, row.category, row.model)

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

    async def update(
        self, customer_id: int, *, name: str | None = None, level: str | None = None,
        phones: list[tuple[str, str | None]] | None = None, **address: str | None,
    ) -> CustomerSummary | None:
        """Change a customer's details: what is given (an address field given as "" or None is
        cleared; ``phones``, when given, replace them all: at least one). None: no such
        customer; ValueError: invalid (nothing is changed)."""
        values: dict[str, str | None] = {}
        if name is not None:
            name = name.strip()
            if not name or len(name) > MAX_NAME:
                raise ValueError(f"name must have 1 to {MAX_NAME} characters")
            values["name"] = name
        if level is not None:
            if level not in CUSTOMER_LEVELS:
                raise ValueError(f"level must be one of {', '.join(CUSTOMER_LEVELS)}")
            values["level"] = level
        if address:
            given = _address(address)
            values.update({key: value for key, value in given.items() if key in address})
        rows = None if phones is None else [self._phone_row(customer_id, *phone) for phone in phones]
        if rows is not None and not rows:
            raise ValueError("a customer keeps at least one phone")
        async with self._db.session() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                return None
            for key, value in values.items():
                setattr(customer, key, value)
            if rows is not None:
                await session.execute(delete(CustomerPhone).where(CustomerPhone.customer_id == customer_id))
                session.add_all(rows)
            await session.commit()
            return _summary(customer)

    def _phone_row(self, customer_id: int, number: str, label: str | None) -> CustomerPhone:
        number = number.strip()
        normalized = normalize_phone(number, self._region)
        if len(normalized) < MIN_PHONE_DIGITS or len(number) > MAX_PHONE:
            raise ValueError(f"phone must be a number of at least {MIN_PHONE_DIGITS} digits")
        label = (label or "").strip() or None
        if label is not None and len(label) > 32:
            raise ValueError("a phone's label has at most 32 characters")
        return CustomerPhone(customer_id=customer_id, number=number, normalized=normalized, label=label)

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
