"""The statistics log: offers, answers, abandons and agents' intervals, stored as they happen;
today's records read back at start so the day's figures survive a restart."""

from __future__ import annotations

from ctiserver.agents.model import AgentBoard
from ctiserver.core import Core
from ctiserver.stats.days import HotlineDays, TodayOnly
from ctiserver.stats.model import Record, StatsLog
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.writer import BackgroundWriter


def register(core: Core, board: AgentBoard) -> tuple[StatsLog, StatsRepository]:
    log = StatsLog()
    records = StatsRepository(core.db)
    writer: BackgroundWriter[Record] = BackgroundWriter(records.append, "statistics records")

    async def start() -> None:
        now = core.clock()
        log.restore(await records.between(days.start_of_day(now), now + 1))
        writer.start()

    days = HotlineDays(core.settings.hotline.timezone)
    log.subscribe(writer.put)
    log.subscribe(TodayOnly(log, days, core.clock()))
    board.subscribe(log.on_agent_update)
    core.follow(log.handle)
    core.on_start(start)
    core.on_stop(writer.stop)
    return log, records
