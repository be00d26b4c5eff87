"""The statistics log: offers, answers, abandons and agents' intervals, stored as they happen;
today's records read back at start so the day's figures survive a restart.

A callback's placeholder holding a caller's place in a queue is not a customer's call:
its queue events are not offers, answers or abandons (the caller's own call was offered,
and left the queue with the callback key); the agent's time on it counts as talk."""

from __future__ import annotations

from ctiserver.agents.model import AgentBoard
from ctiserver.calls.model import is_placeholder
from ctiserver.core import Core
from ctiserver.stats.days import HotlineDays, TodayOnly
from ctiserver.stats.model import StatsLog, record_from_dict, record_to_dict
from ctiserver.stats.store import StatsRepository


def register(core: Core, board: AgentBoard) -> tuple[StatsLog, StatsRepository]:
    log = StatsLog()
    records = StatsRepository(core.db)
    writer = core.durable_writer(
        records.append, "statistics records", name="stats", encode=record_to_dict, decode=record_from_dict,
        started_by_core=False,
    )

    async def start() -> None:
        # the journal of a previous run first, so that today's restored log has it
        await writer.start()
        now = core.clock()
        log.restore(await records.between(days.start_of_day(now), now + 1))

    days = HotlineDays(core.settings.hotline.timezone)
    log.subscribe(writer.put)
    log.subscribe(TodayOnly(log, days, core.clock()))
    board.subscribe(log.on_agent_update)
    core.follow(lambda event: None if is_placeholder(getattr(event, "linkedid", None)) else log.handle(event))
    core.on_start(start)
    return log, records
