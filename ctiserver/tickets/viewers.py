"""The viewer of a request: who asks, with what decides which tickets (and so which visits,
customers' tickets, ...) they see. Every route that shows a ticket or a part of one builds
its viewer here, so that they all apply the one rule (``ctiserver.tickets.model.visibility``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aiohttp import web

from ctiserver.tickets.model.visibility import TicketViewer
from ctiserver.tickets.store import TicketRepository
from ctiserver.web.keys import USER_KEY

#: user id -> the customers of the call ringing or going on at their desk (the screen pop's
#: cards); set by the composition root when pops run
SERVING_KEY: web.AppKey[Callable[[int], frozenset[int]]] = web.AppKey("serving")
#: user id -> the calls ringing or going on at their desk (their Linkedids): the tickets opened
#: on them are the agent's while the call lasts; set by the composition root when pops run
SERVING_CALLS_KEY: web.AppKey[Callable[[int], frozenset[str]]] = web.AppKey("serving_calls")
#: the ticket store the viewers are read from
VIEWERS_KEY = web.AppKey("ticket_viewers", TicketRepository)


async def viewer_of(request: web.Request) -> TicketViewer:
    """The logged-in user as a viewer of tickets."""
    user = request[USER_KEY]
    viewer = await request.app[VIEWERS_KEY].viewer(user.id, user.role)
    serving = request.app.get(SERVING_KEY)
    if serving is not None and user.role == "agent":
        viewer = replace(viewer, serving=serving(user.id))
    calls = request.app.get(SERVING_CALLS_KEY)
    if calls is not None and user.role == "agent":
        viewer = replace(viewer, serving_calls=calls(user.id))
    return viewer
