"""Agents: the board that follows every agent's state, the desk they act from, its routes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ctiserver.agents import http
from ctiserver.agents.desk import AgentDeskService
from ctiserver.agents.following import DeskFollower
from ctiserver.agents.model import AgentBoard
from ctiserver.agents.seats import AgentSeats, Seat
from ctiserver.agents.store import AgentRepository
from ctiserver.calls.model import CallUpdate
from ctiserver.core import Core

TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Agents:
    board: AgentBoard
    directory: AgentRepository
    desk: AgentDeskService
    #: who sits at which phone, and the push to their desk (screen pops, callback offers)
    seats: AgentSeats


def register(core: Core) -> Agents:
    hotline = core.settings.hotline
    board = AgentBoard(wrapup_seconds={q.name: q.wrapup_time for q in hotline.queues}, clock=core.clock)
    directory = AgentRepository(core.db)
    desk = AgentDeskService(
        directory, core.ami, board, queues=core.queue_names, interface_pattern=hotline.agent_interface,
        state_interface_pattern=hotline.agent_state_interface, clock=core.clock,
    )


    async def roster() -> list[Seat]:
        return [
            Seat(desk.interface_of(record), record.name, record.user_id, str(record.extension))
            for record in await directory.all()
        ]

    seats = AgentSeats(roster, core.hub, on_seat=board.enroll)

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            board.tick()

    def release_on_end(update: CallUpdate) -> None:
        if update.kind == "ended":
            board.call_ended(update.call.linkedid, core.clock())

    board.subscribe(DeskFollower(desk, seats, core.hub))
    core.follow(board.handle)
    core.calls.subscribe(release_on_end)
    core.long_running("agent-clock", tick)
    core.on_start(seats.refresh)
    http.register(core.app, desk)
    return Agents(board, directory, desk, seats)
