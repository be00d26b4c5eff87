"""Screen pops: the agent whose phone rings sees who is calling, on their websocket only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ctiserver.agents import Agents
from ctiserver.calls.model import CallTracker
from ctiserver.core import Core
from ctiserver.customers import CustomerRepository
from ctiserver.ivr import HotlineIvr
from ctiserver.pops import http
from ctiserver.pops.cards import BatchedCardLookup, CustomerCards
from ctiserver.pops.schemas import PopMessage
from ctiserver.pops.service import ScreenPopService
from ctiserver.web.contract import add_messages
from ctiserver.web.keys import USER_CHANNEL_KEY


@dataclass(frozen=True)
class Pops:
    service: ScreenPopService
    #: again whenever the agent directory changes
    seat_agents: Callable[[], Awaitable[None]]


def register(
    core: Core, agents: Agents, ivr: HotlineIvr, customers: CustomerRepository, calls: CallTracker
) -> Pops:
    """``customers``: the customers' repository, for the desk's customer routes; ``calls``: the
    live call model (the composition root's)."""
    cards = CustomerCards(core.db, core.settings.hotline.region)
    http.register(core.app, customers, cards)
    pops = ScreenPopService(
        calls=calls,
        cards=BatchedCardLookup(cards.for_phones),
        ivr_runs=ivr.live,
        clock=core.clock,
    )
    pops.attach(core.hub)
    pops.on_latency = core.metrics.pop_seconds.observe
    core.app[USER_CHANNEL_KEY] = pops
    add_messages(core.app, PopMessage)

    async def seat_agents() -> None:
        """Who answers which phone, for pops and for calls that reach an agent without a
        queue (transfers)."""
        for record in await agents.directory.all():
            interface = agents.desk.interface_of(record)
            agents.board.enroll(interface, record.name)
            if record.user_id is not None:
                pops.seat(interface, record.user_id, str(record.extension))

    core.calls.subscribe(pops.on_call_update)
    agents.board.subscribe(pops.on_agent_update)
    core.on_start(seat_agents)
    return Pops(pops, seat_agents)
