"""Who sees which return visit: whoever may see its ticket (the visit shows the ticket's
customer, name and number, and its score closes or reopens the ticket and may open a
complaint), on every route (the list, calling, scoring) and on the live ``visit`` push;
supervisors and admins see every visit. Staff do not work return visits (the routes are
the desk's), though they may see a visit on a ticket's detail.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from ctiserver.tickets import Ticket, TicketViewer, visible_to
from ctiserver.visits.tables import Visit


def may_see_visit(*, ticket_visible: bool) -> bool:
    """A visit is seen with its ticket."""
    return ticket_visible


def visits_visible_to(viewer: TicketViewer) -> ColumnElement[bool]:
    """The visits ``viewer`` may see, as a WHERE clause on ``visits``."""
    return Visit.ticket_id.in_(select(Ticket.id).where(visible_to(viewer)))
