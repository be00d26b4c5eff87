"""Screen pops: the agent whose phone rings sees who is calling, on their websocket only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ctiserver.agents.plugin import Agents
from ctiserver.core import Core
from ctiserver.customers.cards import BatchedCardLookup, CustomerCards
from ctiserver.ivr.hotline import HotlineIvr
from ctiserver.pops.schemas import PopMessage
from ctiserver.pops.service import ScreenPopService
from ctiserver.web.contract import add_messages
from ctiserver.web.keys import USER_CHANNEL_KEY


@dataclass(frozen=True)
class Pops:
    service: ScreenPopService
    #: again whenever the agent directory changes (the agents' seats, which pops share)
    seat_agents: Callable[[], Awaitable[None]]


def register(core: Core, agents: Agents, ivr: HotlineIvr) -> Pops:
    pops = ScreenPopService(
        calls=core.calls,
        cards=BatchedCardLookup(CustomerCards(core.db, core.settings.hotline.region).for_phones),
        ivr_runs=ivr.live,
        clock=core.clock,
        seats=agents.seats,
    )
    pops.attach(core.hub)
    core.app[USER_CHANNEL_KEY] = pops
    add_messages(core.app, PopMessage)

    core.calls.subscribe(pops.on_call_update)
    agents.board.subscribe(pops.on_agent_update)
    return Pops(pops, agents.seats.refresh)
