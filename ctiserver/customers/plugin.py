"""Customers: looked up by phone, created from a pop, their cards and history."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.customers import http
from ctiserver.customers.store import CustomerRepository


def register(core: Core) -> CustomerRepository:
    customers = CustomerRepository(core.db)
    http.register(core.app, customers)
    return customers
