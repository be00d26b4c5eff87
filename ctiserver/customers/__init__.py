"""Customers. What others may use of who sees which customer: ``may_see_customer``,
``card_as_seen`` (docs/visibility.md)."""

from ctiserver.customers.visibility import card_as_seen, may_see_customer

__all__ = ["card_as_seen", "may_see_customer"]
