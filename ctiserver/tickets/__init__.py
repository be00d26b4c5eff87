"""After-sales tickets: opened from the desk or the IVR, dispatched, worked through the
workflow (``ctiserver.tickets.model``: kinds, workflow, SLA; public as is, pure), watched
against their SLA.

Other features may use:

* ``TicketRepository``: the tickets' service (open, move, find; the composition root's one
  instance carries the server's clock);
* ``TicketInfo``, ``TicketEventInfo``, ``ticket_info``, ``ticket_dict``: a ticket and its
  events as values and as JSON (TICKET of docs/agent-desktop.md);
* ``Author``: who makes a change;
* the ticket-event feed (``feed``): every consumer of ``ticket_events`` (the work view,
  webhooks, return visits, and what comes next) follows it by name through an
  :class:`EventFeed`. A durable consumer (:meth:`EventFeed.consumer`) has its cursor in
  ``feed_cursors``, claimed while it acts, moved only after its handler succeeded (at least
  once); a live follower (:meth:`EventFeed.live`) keeps its cursor in memory. Ids that commit
  out of order are waited for (``model.gaps``). The feed is woken at once by this process's
  commits (the in-process ``bus``: ``TicketBus``, ``Committed``, ``bus_of``), by
  :meth:`EventFeed.wake` (for other servers' commits, e.g. a LISTEN/NOTIFY), and every
  ``tickets.feed_interval`` seconds;
* ``TicketView``, ``TicketStatus``: JSON shapes;
* the hook through which another feature adds to a ticket's detail: ``FEEDBACK_KEY`` and
  the shapes it shows (``SurveyView``, ``VisitView``, ``VisitStatus``), set by return visits.

Read models: ``TicketInfo`` (``TicketRepository.get``, ``open_for_customer``...) and
``TicketEventInfo``. Tables (read only, still exported for the joins of reports, exports,
cards, surveys and the work view's lists that predate the read models; tests/unit/
test_layout.py lists those uses and fails on a new one): ``Ticket`` and ``TicketEvent``.

Who sees which ticket, and who may move it (docs/visibility.md): the one visibility rule
(``may_see_ticket``; its SQL form ``visible_to``; the request's viewer ``viewer_of``, with
the customers at an agent's desk from ``SERVING_KEY``) and the workflow's per-role moves
(``ROLE_MOVES``, ``check_role``).
"""

from ctiserver.tickets.bus import Committed, TicketBus, bus_of
from ctiserver.tickets.changes import Author
from ctiserver.tickets.feed import EventFeed, FeedClaim, FeedConsumer, FeedPosition, LiveFollower, feed_position
from ctiserver.tickets.feedback import FEEDBACK_KEY, SurveyView, VisitStatus, VisitView
from ctiserver.tickets.infos import TicketEventInfo, TicketInfo, ticket_dict, ticket_info
from ctiserver.tickets.listing import visible_to
from ctiserver.tickets.model.visibility import TicketHolding, TicketViewer, may_see_ticket, staff_sees
from ctiserver.tickets.model.workflow import ROLE_MOVES, MoveForbidden, check_role, may_move
from ctiserver.tickets.schemas import TicketStatus, TicketView
from ctiserver.tickets.store import TicketRepository
from ctiserver.tickets.tables import Ticket, TicketEvent
from ctiserver.tickets.viewers import SERVING_CALLS_KEY, SERVING_KEY, VIEWERS_KEY, viewer_of

__all__ = [
    "FEEDBACK_KEY",
    "ROLE_MOVES",
    "SERVING_CALLS_KEY",
    "SERVING_KEY",
    "VIEWERS_KEY",
    "Author",
    "Committed",
    "EventFeed",
    "FeedClaim",
    "FeedConsumer",
    "FeedPosition",
    "LiveFollower",
    "MoveForbidden",
    "SurveyView",
    "Ticket",
    "TicketBus",
    "TicketEvent",
    "TicketEventInfo",
    "TicketHolding",
    "TicketInfo",
    "TicketRepository",
    "TicketStatus",
    "TicketView",
    "TicketViewer",
    "VisitStatus",
    "VisitView",
    "bus_of",
    "check_role",
    "feed_position",
    "may_move",
    "may_see_ticket",
    "staff_sees",
    "ticket_dict",
    "ticket_info",
    "viewer_of",
    "visible_to",
]
