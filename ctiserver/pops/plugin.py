"""Screen pops: the agent whose phone rings sees who is calling, on their websocket only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ctiserver.agents import Agents
from ctiserver.calls import CallRepository
from ctiserver.calls.model import CallTracker
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.ivr import HotlineIvr
from ctiserver.pops import http
from ctiserver.pops.cards import BatchedCardLookup, CustomerCards
from ctiserver.pops.schemas import PopMessage
from ctiserver.pops.search import CustomerSearch
from ctiserver.pops.service import ScreenPopService
from ctiserver.tickets import TicketRepository, ticket_dict
from ctiserver.web.contract import add_messages
from ctiserver.web.keys import USER_CHANNEL_KEY


@dataclass(frozen=True)
class Pops:
    service: ScreenPopService
    #: again whenever the agent directory changes (the agents' seats, which pops share)
    seat_agents: Callable[[], Awaitable[None]]


def register(
    core: Core, agents: Agents, ivr: HotlineIvr, customers: CustomerRepository, calls: CallTracker,
    call_records: CallRepository, tickets: TicketRepository,
) -> Pops:
    """``customers``: the customers' repository, for the desk's customer routes; ``calls``: the
    live call model; ``call_records`` and ``tickets``: the ended calls and the tickets, read for
    a customer's history (all the composition root's)."""
    cards = CustomerCards(core.db, core.settings.hotline.region, calls=call_records, tickets=tickets)
    http.register(core.app, customers, cards, CustomerSearch(core.db, core.settings.hotline.region))
    async def call_tickets(call_id: str) -> list[dict[str, Any]]:
        return [ticket_dict(t) for t in reversed(await tickets.list_for_call(call_id))]

    pops = ScreenPopService(
        call_tickets=call_tickets,
        calls=calls,
        cards=BatchedCardLookup(cards.for_phones),
        ivr_runs=ivr.live,
        clock=core.clock,
        seats=agents.seats,
    )
    pops.attach(core.hub)
    pops.on_latency = core.metrics.pop_seconds.observe
    core.app[USER_CHANNEL_KEY] = pops
    add_messages(core.app, PopMessage)

    core.calls.subscribe(pops.on_call_update)
    agents.board.subscribe(pops.on_agent_update)
    return Pops(pops, agents.seats.refresh)
