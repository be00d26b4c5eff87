"""After-sales tickets.

The ticket-event feed (``feed``): every consumer of ``ticket_events`` (the work view,
webhooks, return visits, and what comes next) follows it by name through an
:class:`EventFeed`. A durable consumer (:meth:`EventFeed.consumer`) has its cursor in
``feed_cursors``, claimed while it acts, moved only after its handler succeeded (at least
once); a live follower (:meth:`EventFeed.live`) keeps its cursor in memory. Ids that commit
out of order are waited for (``model.gaps``). The feed is woken at once by this process's
commits (the in-process ``bus``), by :meth:`EventFeed.wake` (for other servers' commits, e.g.
a LISTEN/NOTIFY), and every ``tickets.feed_interval`` seconds.
"""

from ctiserver.tickets.bus import Committed, TicketBus, bus_of
from ctiserver.tickets.feed import EventFeed, FeedClaim, FeedConsumer, FeedPosition, LiveFollower, feed_position

__all__ = [
    "Committed",
    "EventFeed",
    "FeedClaim",
    "FeedConsumer",
    "FeedPosition",
    "LiveFollower",
    "TicketBus",
    "bus_of",
    "feed_position",
]
