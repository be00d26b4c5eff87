"""After-sales tickets: opened from the desk or the IVR, numbered by the hotline's local day."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.customers.store import CustomerRepository
from ctiserver.tickets import http
from ctiserver.tickets.store import TicketRepository


def register(core: Core, customers: CustomerRepository) -> TicketRepository:
    tickets = TicketRepository(core.db, timezone=core.settings.hotline.timezone)
    http.register(core.app, tickets, customers)
    return tickets
