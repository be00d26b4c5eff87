"""Tables of customers: customers, their phones and the products they own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base, UTCDateTime, one_of, utcnow
from ctiserver.vocabulary import CUSTOMER_LEVELS


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(one_of("level", CUSTOMER_LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    street: Mapped[str | None] = mapped_column(String(128))
    address_detail: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    #: as entered, for display
    number: Mapped[str] = mapped_column(String(64))
    #: :func:`ctiserver.customers.phones.normalize_phone` of ``number``, for matching callers
    normalized: Mapped[str] = mapped_column(String(32), index=True)
    label: Mapped[str | None] = mapped_column(String(32))


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str | None] = mapped_column(String(64), index=True)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)



class ProductModel(Base):
    """The product catalogue: the models the company sells, each of one category. When it
    holds any model, a customer import accepts only products of a model it lists."""

    __tablename__ = "product_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(64))
