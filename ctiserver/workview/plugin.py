"""The department work view: its context route and the live feed of ticket changes."""

from __future__ import annotations

from ctiserver.core import Core
from ctiserver.dispatch import DispatchRepository
from ctiserver.tickets import EventFeed
from ctiserver.web.contract import add_messages
from ctiserver.workview import http
from ctiserver.workview.feed import TicketFeed
from ctiserver.workview.schemas import TicketChangedMessage, TicketGoneMessage
from ctiserver.workview.store import WorkViewStore


def register(core: Core, events: EventFeed, dispatch: DispatchRepository) -> TicketFeed:
    store = WorkViewStore(core.db)
    http.register(core.app, store, dispatch)
    add_messages(core.app, TicketChangedMessage, TicketGoneMessage)
    feed = TicketFeed(events, store, core.hub)

    async def run() -> None:
        await feed.run(events.interval)

    core.long_running("ticket-feed", run)
    return feed
