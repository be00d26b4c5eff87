"""After-sales tickets. What other features may use of who sees which ticket, and who may move
it: the one visibility rule (``may_see_ticket``, its SQL form ``visible_to``, the request's
``viewer_of``) and the workflow's per-role moves (``ROLE_MOVES``, ``check_role``).
docs/visibility.md."""

from ctiserver.tickets.model.visibility import TicketHolding, TicketViewer, may_see_ticket, staff_sees
from ctiserver.tickets.model.workflow import ROLE_MOVES, MoveForbidden, check_role, may_move

__all__ = [
    "ROLE_MOVES", "MoveForbidden", "TicketHolding", "TicketViewer", "check_role", "may_move", "may_see_ticket",
    "staff_sees",
]
