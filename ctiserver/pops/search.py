"""Finding a customer from the desk by what the caller says: a phone number in any form
(``13800138000``, ``138-0013-8000``, ``+86 138 0013 8000``: one key, ``normalize_phone``), a
name (or part of one), a ticket number, a product's serial number.

It reads the customers' and the tickets' read models, so it lives here, beside the cards,
above both features. It answers customer ids only: the route shows their cards as the
visibility rule says (docs/visibility.md).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, func, or_, select

from ctiserver.customers import DEFAULT_REGION, Customer, CustomerPhone, Product, normalize_phone
from ctiserver.storage.database import Database
from ctiserver.tickets import Ticket, TicketViewer, visible_to

#: at most this many customers are answered (the best matches first)
SEARCH_LIMIT = 50
#: fewer digits than this are no phone number to look for (a part of a name, a serial)
PHONE_DIGITS = 5
MAX_QUERY = 100


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


class CustomerSearch:
    def __init__(self, db: Database, region: str = DEFAULT_REGION) -> None:
        self._db = db
        self._region = region

    async def find(self, text: str, viewer: TicketViewer, limit: int = SEARCH_LIMIT) -> list[int]:
        """The ids of the customers ``text`` names, best first: those with that phone, that
        ticket (one ``viewer`` may see: a number is no way around the tickets' rule) or that
        serial, then those whose name holds it (shortest names first)."""
        query = text.strip()[:MAX_QUERY]
        if not query:
            return []
        found: dict[int, None] = {}
        digits = re.sub(r"\D", "", query)
        async with self._db.engine.connect() as conn:
            exact: list[Select[Any]] = []
            if len(digits) >= PHONE_DIGITS and re.fullmatch(r"[\d\s+()\-.]+", query):
                key = normalize_phone(query, self._region)
                exact.append(select(CustomerPhone.customer_id).where(
                    or_(CustomerPhone.normalized == key, CustomerPhone.normalized.like(_like(digits), escape="\\"))
                ).order_by(CustomerPhone.id))
            upper = query.upper()
            exact.append(select(Ticket.customer_id).where(
                func.upper(Ticket.number) == upper, Ticket.customer_id.is_not(None), visible_to(viewer)
            ))
            exact.append(select(Product.customer_id).where(func.upper(Product.serial) == upper))
            for statement in exact:
                for row in await conn.execute(statement.limit(limit)):
                    if row[0] is not None:
                        found.setdefault(int(row[0]), None)
            named = (
                select(Customer.id).where(Customer.name.like(_like(query), escape="\\"))
                .order_by(func.length(Customer.name), Customer.id).limit(limit)
            )
            for row in await conn.execute(named):
                found.setdefault(int(row[0]), None)
        return list(found)[:limit]
