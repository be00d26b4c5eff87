"""The shapes of the desk's customer routes (``http.py``): CARD of docs/agent-desktop.md, a customer's history,
and the quick-create form of a pop with no match."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from ctiserver import vocabulary
from ctiserver.calls import CallRecordView
from ctiserver.tickets import TicketView
from ctiserver.web.schemas import OneOf, QueryString, RequestBody, Shape

CustomerLevel = Annotated[str, OneOf(vocabulary.CUSTOMER_LEVELS)]


class PhoneView(Shape):
    number: str
    #: e.g. 手机, 家 (free text) or null
    label: str | None


class AddressView(Shape):
    province: str | None
    city: str | None
    district: str | None
    street: str | None
    detail: str | None


class ProductView(Shape):
    id: int
    category: str
    model: str
    serial: str | None
    installed_on: dt.date | None


class CustomerCard(Shape):
    """CARD: who is calling, what they own, what is open, how they called lately."""

    id: int
    name: str
    level: CustomerLevel
    phones: list[PhoneView]
    address: AddressView
    products: list[ProductView]
    #: open, assigned or in progress, newest first
    open_tickets: list[TicketView]
    #: the last ended calls (at most 5), newest first
    recent_calls: list[CallRecordView]


class CustomerAnswer(Shape):
    customer: CustomerCard


class CustomerMatches(Shape):
    """Every customer with that phone (a shared landline matches several)."""

    customers: list[CustomerCard]


class CustomerHistory(Shape):
    """Newest first."""

    calls: list[CallRecordView]
    tickets: list[TicketView]


class PhoneQuery(QueryString):
    """The number as the caller gave it: +86, 0086, a leading 0, spaces and dashes do not matter."""

    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CustomerNew(RequestBody):
    """``POST /api/customers``: the quick-create form of a pop with no match."""

    name: str
    phone: str
    level: CustomerLevel | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    address_detail: str | None = None


class CustomerSearchQuery(QueryString):
    """``GET /api/customers/search``: a phone number in any form (``138-0013-8000``,
    ``+86 138 0013 8000``), a name or part of one, a ticket number or a product's serial."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PhoneChange(RequestBody):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    label: Annotated[str, StringConstraints(max_length=32)] | None = None


class CustomerChange(RequestBody):
    """``PATCH /api/customers/{id}``: the details to change (those left out stay; an address
    field sent empty is cleared; ``phones`` replace the customer's phones)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    level: CustomerLevel | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    address_detail: str | None = None
    phones: Annotated[list[PhoneChange], Field(min_length=1, max_length=10)] | None = None
