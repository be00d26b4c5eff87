"""After-sales tickets: opened from the desk or the IVR, dispatched, worked through the workflow,
watched against their SLA (the ``ticket-sla`` task escalates and records breaches); the feed
of their events that other features follow."""

from __future__ import annotations

import logging
from typing import Any

from ctiserver.calendar import DayRules, uncovered_note
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.dispatch import DispatchRepository
from ctiserver.storage.base import from_epoch
from ctiserver.storage.notify import TICKET_EVENTS
from ctiserver.tickets import http
from ctiserver.tickets.bus import bus_of
from ctiserver.tickets.escalation import SlaWatch
from ctiserver.tickets.feed import EventFeed
from ctiserver.tickets.notifier import EscalationNotifier
from ctiserver.tickets.schemas import TicketEscalationMessage
from ctiserver.tickets.store import TicketRepository, sla_rules
from ctiserver.users import UserRepository
from ctiserver.web.contract import add_messages

log = logging.getLogger(__name__)


def register(
    core: Core, customers: CustomerRepository, dispatch: DispatchRepository, users: UserRepository
) -> TicketRepository:
    """``customers``, ``dispatch``, ``users``: the composition root's repositories."""
    settings = core.settings

    def now() -> Any:
        return from_epoch(core.clock())

    days = DayRules.from_settings(settings.calendar)
    note = uncovered_note(days, now().year)
    if note:
        log.warning("business calendar: %s", note)
    rules = sla_rules(settings.tickets, settings.hotline.timezone, days)
    tickets = TicketRepository(core.db, timezone=settings.hotline.timezone, clock=now, sla=rules)
    http.register(core.app, tickets, customers, dispatch, users)
    add_messages(core.app, TicketEscalationMessage)

    watch = SlaWatch(core.db, rules, now, told=EscalationNotifier(core.hub, tickets.user_sees).told)

    async def run() -> None:
        await watch.run(settings.tickets.escalate_interval)

    core.long_running("ticket-sla", run, once=True)
    return tickets


def event_feed(core: Core) -> EventFeed:
    """The feed of ``ticket_events`` this server's consumers follow, woken by its bus and by
    the other nodes' commits (``ctiserver.storage.notify``)."""
    feed = EventFeed(core.db, bus_of(core.db), interval=core.settings.tickets.feed_interval)
    core.notifications.listen(TICKET_EVENTS, lambda _payload: feed.wake())

    async def backlog() -> dict[str, float]:
        async with core.db.session() as session:
            last = await feed.last_event_id(session)
        found = {consumer.name: await consumer.cursor() for consumer in feed.consumers()}
        return {name: float(last - cursor) for name, cursor in found.items() if cursor is not None}

    core.metrics.reading_async("ctiserver_feed_backlog", "Ticket events a durable consumer of the feed "
                               "(return visits, a webhook endpoint) has not acted on yet", backlog, label="consumer")
    return feed
