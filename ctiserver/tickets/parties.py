"""Who and what a ticket is about, for the engineer who goes there: the customer (name,
phones, address) and the product with its history of repairs.

Shown with the ticket to whoever may see the ticket (docs/visibility.md: staff see the
customers of the tickets they may see, and a customer's card holds name, phones, address and
products); the product's other tickets only as far as the viewer may see each of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ctiserver.customers import Customer, CustomerPhone, Product
from ctiserver.storage.database import Database
from ctiserver.tickets.infos import TicketInfo
from ctiserver.tickets.listing import visible_to
from ctiserver.tickets.model.visibility import TicketViewer
from ctiserver.tickets.tables import Ticket

#: the product's latest other tickets shown
PRODUCT_HISTORY = 20


def _moment(value: Any) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


async def ticket_parties(db: Database, ticket: TicketInfo, viewer: TicketViewer) -> dict[str, Any]:
    """``{"customer": {...} | None, "product": {...} | None}`` of ``ticket`` for ``viewer``
    (who may see the ticket)."""
    customer = product = None
    async with db.session() as session:
        if ticket.customer_id is not None:
            row = await session.get(Customer, ticket.customer_id)
            if row is not None:
                phones = await session.scalars(
                    select(CustomerPhone).where(CustomerPhone.customer_id == row.id).order_by(CustomerPhone.id)
                )
                customer = {
                    "id": row.id, "name": row.name, "level": row.level,
                    "phones": [{"number": p.number, "label": p.label} for p in phones],
                    "address": {
                        "province": row.province, "city": row.city, "district": row.district,
                        "street": row.street, "detail": row.address_detail,
                    },
                }
        if ticket.product_id is not None:
            item = await session.get(Product, ticket.product_id)
            if item is not None:
                others = await session.scalars(
                    select(Ticket)
                    .where(Ticket.product_id == item.id, Ticket.id != ticket.id, visible_to(viewer))
                    .order_by(Ticket.id.desc()).limit(PRODUCT_HISTORY)
                )
                product = {
                    "id": item.id, "category": item.category, "model": item.model, "serial": item.serial,
                    "installed_on": None if item.installed_on is None else item.installed_on.isoformat(),
                    "tickets": [
                        {
                            "id": other.id, "number": other.number, "type": other.type, "status": other.status,
                            "summary": other.summary, "created_at": _moment(other.created_at),
                            "completed_at": _moment(other.completed_at),
                            "result": (other.fields or {}).get("result"),
                        }
                        for other in others
                    ],
                }
    return {"customer": customer, "product": product}
