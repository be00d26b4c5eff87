"""Callback dialling latency: an agent goes ready -> the Originate that rings their phone.

Fills a database (SQLite in a temporary directory, or ``--database URL``) with N pending
callback tasks (500 by default) of one queue, puts ``--agents`` agents on the board, and
runs the real dialler (``CallbackDialer.run_forever``: claim in the database, then the
Originate) against a fake AMI. Each agent starts paused; the bench unpauses them one after
the other ``--gap`` seconds apart; the time from the unpause (the board's READY) to the
Originate sent for that agent is measured. Each callback then "connects" and hangs up after
``--talk`` seconds and the agent pauses again, to be made ready again later, until every
task was dialled. Prints median, p99 and max, and checks each task was dialled once.

    python bench/callbacks.py [--tasks 500] [--agents 20] [--gap 0.02] [--talk 0.05] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctiserver.agents.model import AgentBoard  # noqa: E402
from ctiserver.callbacks.dialer import CallbackDialer  # noqa: E402
from ctiserver.callbacks.model import Miss, Source  # noqa: E402
from ctiserver.callbacks.store import CallbackRepository  # noqa: E402
from ctiserver.settings import Settings  # noqa: E402
from ctiserver.storage.database import Database, upgrade_schema  # noqa: E402
from ctiserver.telephony.events import (  # noqa: E402
    ChannelHungUp,
    DialEnded,
    QueueMemberAdded,
    QueueMemberPauseChanged,
)

AGENT = "Local/{extension}@lab-agents/n"


class Bench:
    def __init__(self, args: argparse.Namespace, store: CallbackRepository, settings: Settings) -> None:
        self.args = args
        self.board = AgentBoard()
        self.ready_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.dialled: Counter[str] = Counter()
        self.done = asyncio.Event()
        self.dialer = CallbackDialer(
            store, self, self.board, settings, clock=time.time,  # type: ignore[arg-type]
            changed=lambda task: None, offer=lambda interface, body: None,
        )
        self.dialer.on_originate = self._originated
        self.store = store

    # the fake AMI
    async def wait_ready(self, timeout: float) -> None:
        return None

    async def send_list_action(self, action: dict[str, Any]) -> list[dict[str, str]]:
        return []

    async def send_action(self, action: dict[str, Any]) -> dict[str, str]:
        channel_id = action["ChannelId"]
        asyncio.get_running_loop().call_later(self.args.talk, self._hang_up, channel_id, action["Channel"])
        return {"Response": "Success"}

    def _originated(self, channel_id: str, interface: str) -> None:
        at = time.perf_counter()
        ready = self.ready_at.pop(interface, None)
        if ready is not None:
            self.latencies.append(at - ready)
        self.dialled[channel_id] += 1

    def _hang_up(self, channel_id: str, interface: str) -> None:
        now = time.time()
        self.dialer.handle(DialEnded(now, channel_id, channel_id, interface, "c", "c", "ANSWER"))
        self.dialer.handle(ChannelHungUp(now, channel_id, channel_id, interface, 16, "Normal Clearing"))
        self.board.handle(QueueMemberPauseChanged(now, "support", interface, paused=True))
        if len(self.dialled) >= self.args.tasks:
            self.done.set()

    async def make_ready(self) -> None:
        agents = [AGENT.format(extension=str(1000 + n)) for n in range(self.args.agents)]
        for interface in agents:
            self.board.handle(QueueMemberAdded(time.time(), "support", interface, member_name=interface, paused=True))
        while not self.done.is_set():
            for interface in agents:
                agent = self.board.get(interface)
                if agent is not None and agent.paused and interface not in self.ready_at:
                    # let the previous callback's outcome be written before the agent is ready again
                    self.ready_at[interface] = time.perf_counter()
                    self.board.handle(QueuePause(interface))
                await asyncio.sleep(self.args.gap)


def QueuePause(interface: str) -> QueueMemberPauseChanged:  # noqa: N802  (reads like the event)
    return QueueMemberPauseChanged(time.time(), "support", interface, paused=False)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await upgrade_schema(url)
        db = Database(url)
        settings = Settings().replace(hotline={"agent_interface": AGENT, "callback_interface": "Local/{number}@c"},
                                      callbacks={"dial_interval": 1.0})
        queues = tuple(dataclasses.replace(q, hours="") for q in settings.hotline.queues)
        settings = settings.replace(hotline={"queues": queues})
        store = CallbackRepository(db, server="bench")
        now = time.time()
        for n in range(args.tasks):
            await store.record_miss(Miss(f"139{n:08d}", Source.ABANDONED, now - 3600 + n, queue="support",
                                         vip=n % 10 == 0))
        bench = Bench(args, store, settings)
        started = time.perf_counter()
        loop = asyncio.create_task(bench.dialer.run_forever())
        readiness = asyncio.create_task(bench.make_ready())
        await asyncio.wait_for(bench.done.wait(), 600)
        elapsed = time.perf_counter() - started
        loop.cancel()
        readiness.cancel()
        await asyncio.gather(loop, readiness, return_exceptions=True)
        await asyncio.sleep(0.2)
        attempts = [a for t in await store.search(limit=args.tasks * 2) for a in await store.attempts(t.id)]
        per_task = Counter(a.callback_id for a in attempts)
        await db.close()
    lat = sorted(bench.latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"{args.tasks} pending tasks, {args.agents} agents, database {url.split(':')[0]}")
    print(f"agent ready -> Originate: n={len(lat)} median {statistics.median(lat) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    print(f"all {len(per_task)} tasks dialled in {elapsed:.1f} s; "
          f"dialled more than once: {sum(1 for n in per_task.values() if n > 1)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.02)
    parser.add_argument("--talk", type=float, default=0.05)
    parser.add_argument("--database", default="")
    asyncio.run(main(parser.parse_args()))
