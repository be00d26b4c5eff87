"""A deterministic generator of statistics records for the reports' tests and bench/reports.py:
calls offered to queues over whole days (busier by day than by night), each answered,
abandoned or left unanswered, completed (some transferred), and the agents' state and
pause intervals, some across hours and midnights."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from ctiserver.agents.model import AgentState, PauseInterval, StateInterval
from ctiserver.stats.model import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallUnanswered,
    Record,
)

QUEUES = ("support", "repair", "complaint", "installation")
ZONE = "Asia/Shanghai"
#: relative traffic of each local hour of the day
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 10, 14, 14, 12, 9, 11, 13, 13, 12, 10, 7, 5, 4, 3, 2, 1]
STATES = (AgentState.READY, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.PAUSED,
          AgentState.LOGGED_OUT)
REASONS = ("lunch", "training", "", "=cmd|' /C calc'!A0")


def agents(count: int) -> list[str]:
    return [f"PJSIP/{1001 + n}" for n in range(count)]


def day_records(day: dt.date, calls: int, agent_count: int, rng: random.Random,
                zone: str = ZONE) -> Iterator[Record]:
    """One local day's records, in the order a server would store them (roughly)."""
    tz = ZoneInfo(zone)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    names = agents(agent_count)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=calls)
    for n, hour in enumerate(sorted(hours)):
        offered = midnight + hour * 3600 + rng.uniform(0, 3600)
        queue = QUEUES[min(int(rng.expovariate(1.2)), len(QUEUES) - 1)]
        linkedid = uniqueid = f"{day.isoformat()}-{n}"
        yield CallOffered(offered, queue, linkedid, uniqueid)
        fate = rng.random()
        wait = round(rng.expovariate(1 / 25), 3)
        if fate < 0.8:
            agent = rng.choice(names)
            answered = offered + wait
            yield CallAnswered(answered, queue, linkedid, uniqueid, offered, wait, agent, None)
            talk = float(rng.randint(20, 900))
            reason = "transfer" if rng.random() < 0.06 else rng.choice(("caller", "agent"))
            yield CallCompleted(answered + talk, queue, linkedid, uniqueid, agent, talk, reason)
        elif fate < 0.93:
            yield CallAbandoned(offered + wait, queue, linkedid, uniqueid, offered, wait)
        else:
            yield CallUnanswered(offered + wait, queue, linkedid, uniqueid, offered, wait)
    for agent in names:
        # a shift from about 08:00 to about 20:00, one agent in three until past midnight
        at = midnight + 8 * 3600 + rng.uniform(-1800, 1800)
        end = midnight + (24.5 if rng.random() < 0.33 else 20) * 3600
        while at < end:
            state = rng.choice(STATES)
            length = rng.uniform(30, 2400)
            reason = rng.choice(REASONS) if state is AgentState.PAUSED else None
            yield StateInterval(agent, state, at, at + length, reason)
            if state is AgentState.PAUSED:
                yield PauseInterval(agent, reason, at, at + length)
            at += length


def month_records(first: dt.date, days: int, calls_per_day: int, agent_count: int,
                  seed: int = 13) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    for n in range(days):
        records.extend(day_records(first + dt.timedelta(days=n), calls_per_day, agent_count, rng))
    return records
