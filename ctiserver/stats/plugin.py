"""The statistics log: offers, answers, abandons and agents' intervals, stored as they happen;
today's records read back at start so the day's figures survive a restart."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from ctiserver.agents.model import AgentBoard
from ctiserver.core import Core
from ctiserver.stats.model import Record, StatsLog
from ctiserver.stats.store import StatsRepository
from ctiserver.storage.writer import BackgroundWriter


def local_midnight(now: float, timezone: str) -> float:
    zone = ZoneInfo(timezone)
    day = dt.datetime.fromtimestamp(now, zone).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def register(core: Core, board: AgentBoard) -> tuple[StatsLog, StatsRepository]:
    log = StatsLog()
    records = StatsRepository(core.db)
    writer: BackgroundWriter[Record] = BackgroundWriter(records.append, "statistics records")

    async def start() -> None:
        now = time.time()
        since = local_midnight(now, core.settings.hotline.timezone)
        log.restore(await records.between(since, now + 1))
        writer.start()

    log.subscribe(writer.put)
    board.subscribe(log.on_agent_update)
    core.follow(log.handle)
    core.on_start(start)
    core.on_stop(writer.stop)
    return log, records
