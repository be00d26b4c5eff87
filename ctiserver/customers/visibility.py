"""Who sees which customer, and which parts of a customer's card and history: the rule.

- agents, supervisors and admins see every customer (any caller may reach any agent, and
  the desk finds customers by phone); staff see the customers of the tickets they may see;
- the tickets on a card or in a history are those the user may see
  (``ctiserver.tickets.model.visibility``, in SQL ``ctiserver.tickets.listing.visible_to``);
- its calls as ``ctiserver.calls.model.visibility`` says (an agent: their own whole, the others'
  as contact summaries; staff none).

``card_as_seen`` applies it to a card: every route and push that shows a card uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ctiserver.vocabulary import DESK_ROLES

#: the calls of a card as the viewer sees them (``ctiserver.calls.model.visibility.calls_as_seen``)
CallsSeen = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def may_see_customer(role: str, *, has_visible_ticket: bool) -> bool:
    """Desk users see every customer; staff those with a ticket they may see."""
    return role in DESK_ROLES or (role == "staff" and has_visible_ticket)


def card_as_seen(card: Mapping[str, Any], visible_tickets: set[int], calls_seen: CallsSeen) -> dict[str, Any]:
    """The card with only the tickets among ``visible_tickets``, and its calls as ``calls_seen``
    shows them to the viewer."""
    return {
        **card,
        "open_tickets": [t for t in card["open_tickets"] if t["id"] in visible_tickets],
        "recent_calls": calls_seen(list(card["recent_calls"])),
    }
