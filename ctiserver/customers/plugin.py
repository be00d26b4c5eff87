"""Customers: looked up by phone, created from a pop (their cards and history, with their tickets
and calls, are served by the desk: ``ctiserver.pops``)."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.customers.phones import known_region
from ctiserver.customers.store import CustomerRepository


def register(core: Core) -> CustomerRepository:
    region = core.settings.hotline.region
    if not known_region(region):
        raise ValueError(f"hotline.region must be a two-letter country code such as CN, not {region!r}")
    customers = CustomerRepository(core.db, region)
    return customers
