"""The live view: queues, agents and waiting callers pushed to supervisors; today's figures."""

from __future__ import annotations

from ctiserver.agents.model import AgentBoard
from ctiserver.calls.model import CallTracker
from ctiserver.core import Core
from ctiserver.live import http, nodes
from ctiserver.live.wallboard import WallboardService
from ctiserver.stats import StatsRepository
from ctiserver.stats.model import StatsLog


def register(
    core: Core, board: AgentBoard, stats: StatsLog, history: StatsRepository, calls: CallTracker
) -> WallboardService:
    """``calls``: the live call model (the composition root's)."""
    wallboard = WallboardService(
        board=board, stats=stats, calls=calls, queues=core.queue_names, history=history,
        timezone=core.settings.hotline.timezone, clock=core.clock,
    )

    async def push() -> None:
        await wallboard.push_forever(core.hub)

    core.calls.subscribe(wallboard.call_changed)
    board.subscribe(wallboard.changed)
    core.long_running("wallboard", push)
    http.register(core.app, wallboard)
    nodes.register(core.app, core.nodes)
    return wallboard
