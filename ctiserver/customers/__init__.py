"""Customers: their records and phones, found by any phone (normalised in the hotline's
region). A customer's card and history (with tickets and calls) are the desk's:
``ctiserver.pops``.

Other features may use:

* ``CustomerRepository``: find by phone, get, create; the read models ``CustomerSummary``,
  ``CustomerContact`` (name, phones, address: ``contact``) and ``ProductInfo`` (``product``);
* ``normalize_phone``, ``is_valid_phone``, ``DEFAULT_REGION``: how a phone number is compared.

Tables (read only, still exported for the joins of reports, exports, cards and return visits
that predate the read models; tests/unit/test_layout.py lists those uses and fails on a new
one): ``Customer``, ``CustomerPhone``, ``Product``, ``ProductModel``. A foreign key names the
table (``"customers.id"``), not the class.

What others may use of who sees which customer: ``may_see_customer``,
``card_as_seen`` (docs/visibility.md).
"""

from ctiserver.customers.phones import DEFAULT_REGION, is_valid_phone, normalize_phone
from ctiserver.customers.store import CustomerContact, CustomerRepository, CustomerSummary, ProductInfo
from ctiserver.customers.tables import Customer, CustomerPhone, Product, ProductModel
from ctiserver.customers.visibility import card_as_seen, may_see_customer

__all__ = [
    "DEFAULT_REGION",
    "Customer",
    "CustomerContact",
    "CustomerPhone",
    "CustomerRepository",
    "CustomerSummary",
    "Product",
    "ProductInfo",
    "ProductModel",
    "card_as_seen",
    "is_valid_phone",
    "may_see_customer",
    "normalize_phone",
]
