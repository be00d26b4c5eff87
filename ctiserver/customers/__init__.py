"""Customers: their records and phones, found by any phone (normalised in the hotline's
region). A customer's card and history (with tickets and calls) are the desk's:
``ctiserver.pops``.

Other features may use:

* ``CustomerRepository``: find by phone, get, create;
* ``normalize_phone``, ``is_valid_phone``, ``DEFAULT_REGION``: how a phone number is compared.

Read model (read only, exported on purpose): ``Customer``, ``CustomerPhone``, ``Product``, ``ProductModel``, the
customers' tables, for foreign keys and for joins in reports, exports, cards and return visits.

What others may use of who sees which customer: ``may_see_customer``,
``card_as_seen`` (docs/visibility.md).
"""

from ctiserver.customers.phones import DEFAULT_REGION, is_valid_phone, normalize_phone
from ctiserver.customers.store import CustomerRepository
from ctiserver.customers.tables import Customer, CustomerPhone, Product, ProductModel
from ctiserver.customers.visibility import card_as_seen, may_see_customer

__all__ = [
    "DEFAULT_REGION",
    "Customer",
    "CustomerPhone",
    "CustomerRepository",
    "Product",
    "ProductModel",
    "card_as_seen",
    "is_valid_phone",
    "may_see_customer",
    "normalize_phone",
]
