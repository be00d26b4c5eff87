"""Agents: the board that follows every agent's state, the desk they act from, its routes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ctiserver.agents import http
from ctiserver.agents.desk import AgentDeskService
from ctiserver.agents.model import AgentBoard
from ctiserver.agents.store import AgentRepository
from ctiserver.core import Core

TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Agents:
    board: AgentBoard
    directory: AgentRepository
    desk: AgentDeskService


def register(core: Core) -> Agents:
    hotline = core.settings.hotline
    board = AgentBoard(wrapup_seconds={q.name: q.wrapup_time for q in hotline.queues}, clock=core.clock)
    directory = AgentRepository(core.db)
    desk = AgentDeskService(
        directory, core.ami, board, queues=core.queue_names, interface_pattern=hotline.agent_interface,
        clock=core.clock,
    )

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            board.tick()

    core.follow(board.handle)
    core.long_running("agent-clock", tick)
    http.register(core.app, desk)
    return Agents(board, directory, desk)
