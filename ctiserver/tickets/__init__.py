"""After-sales tickets.

The ticket-event feed (``feed``): every consumer of ``ticket_events`` (the work view,
webhooks, return visits, and what comes next) follows it by name through an
:class:`EventFeed`. A durable consumer (:meth:`EventFeed.consumer`) has its cursor in
``feed_cursors``, claimed while it acts, moved only after its handler succeeded (at least
once); a live follower (:meth:`EventFeed.live`) keeps its cursor in memory. Ids that commit
out of order are waited for (``model.gaps``). The feed is woken at once by this process's
commits (the in-process ``bus``), by :meth:`EventFeed.wake` (for other servers' commits, e.g.
a LISTEN/NOTIFY), and every ``tickets.feed_interval`` seconds.

Who sees which ticket, and who may move it (docs/visibility.md): the one visibility rule
(``may_see_ticket``; its SQL form ``visible_to``; the request's viewer ``viewer_of``, with
the customers at an agent's desk from ``SERVING_KEY``) and the workflow's per-role moves
(``ROLE_MOVES``, ``check_role``).
"""

from ctiserver.tickets.bus import Committed, TicketBus, bus_of
from ctiserver.tickets.feed import EventFeed, FeedClaim, FeedConsumer, FeedPosition, LiveFollower, feed_position
from ctiserver.tickets.listing import visible_to
from ctiserver.tickets.model.visibility import TicketHolding, TicketViewer, may_see_ticket, staff_sees
from ctiserver.tickets.model.workflow import ROLE_MOVES, MoveForbidden, check_role, may_move
from ctiserver.tickets.viewers import SERVING_KEY, VIEWERS_KEY, viewer_of

__all__ = [
    "ROLE_MOVES",
    "SERVING_KEY",
    "VIEWERS_KEY",
    "Committed",
    "EventFeed",
    "FeedClaim",
    "FeedConsumer",
    "FeedPosition",
    "LiveFollower",
    "MoveForbidden",
    "TicketBus",
    "TicketHolding",
    "TicketViewer",
    "bus_of",
    "check_role",
    "feed_position",
    "may_move",
    "may_see_ticket",
    "staff_sees",
    "viewer_of",
    "visible_to",
]
