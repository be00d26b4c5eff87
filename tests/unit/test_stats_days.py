"""The statistics log holds the hotline's current day only: past days are forgotten at
the first record of a new local day (they are in the database), so memory stays flat."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ctiserver.stats.days import HotlineDays, TodayOnly
from ctiserver.stats.model import CallOffered, StatsLog

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: float) -> float:
    return dt.datetime(2026, 11, day, tzinfo=SHANGHAI).timestamp() + hour * 3600


def test_days_are_local_days() -> None:
    days = HotlineDays("Asia/Shanghai")
    assert days.start_of_day(at(3, 23.9)) == at(3, 0)
    assert days.end_of_day(at(3, 0.1)) == at(4, 0)
    # 20:00 UTC on the 2nd is already the 3rd in Shanghai
    utc_evening = dt.datetime(2026, 11, 2, 20, tzinfo=dt.UTC).timestamp()
    assert days.day_of(utc_evening) == dt.date(2026, 11, 3)


def test_the_log_forgets_past_days_when_a_new_day_begins() -> None:
    log = StatsLog()
    log.subscribe(TodayOnly(log, HotlineDays("Asia/Shanghai"), now=at(3, 9)))
    for day in (3, 4, 5):
        for n in range(10):
            log._append(CallOffered(at(day, 9 + n / 10), "support", f"{day}-{n}", f"{day}-{n}"))
        assert [r.linkedid for r in log._records] == [f"{day}-{n}" for n in range(10)]
    generation = log.generation
    log._append(CallOffered(at(5, 23), "support", "late", "late"))
    assert len(log._records) == 11 and log.generation == generation, "same day: nothing forgotten"
