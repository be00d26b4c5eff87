"""The ticket workflow's costs on SQLite (or ``--url``): opening tickets (dispatched by the rules),
moving them, one pass of the SLA watch over every running ticket, and the most-urgent-first
listing. Prints figures; asserts nothing about speed.

    python bench/tickets.py [--tickets N] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ctiserver.storage.database import Database, upgrade_schema  # noqa: E402
from ctiserver.tickets.escalation import SlaWatch  # noqa: E402
from ctiserver.tickets.listing import TicketFilter  # noqa: E402
from ctiserver.tickets.store import TicketRepository, sla_rules  # noqa: E402
from ctiserver.settings import TicketSettings  # noqa: E402

MONDAY_9 = dt.datetime(2026, 9, 28, 1, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_9

    def __call__(self) -> dt.datetime:
        return self.now


async def run(url: str, count: int) -> None:
    await upgrade_schema(url)
    db = Database(url)
    clock = Clock()
    rules = sla_rules(TicketSettings(), "Asia/Shanghai")
    tickets = TicketRepository(db, clock=clock, sla=rules)
    kinds = ("repair", "complaint", "installation", "inquiry")
    started = time.perf_counter()
    opened = [await tickets.open(kinds[i % 4], f"bench {i}", {}, customer_id=None) for i in range(count)]
    took = time.perf_counter() - started
    print(f"open (with dispatch):     {count} tickets in {took:.2f} s, {took / count * 1000:.2f} ms each")
    started = time.perf_counter()
    for ticket in opened[: count // 2]:
        await tickets.move(ticket.id, "in_progress", version=ticket.version)
    took = time.perf_counter() - started
    print(f"move (with SLA columns):  {count // 2} moves in {took:.2f} s, {took / (count // 2) * 1000:.2f} ms each")
    watch = SlaWatch(db, rules, clock)
    clock.now = MONDAY_9 + dt.timedelta(hours=30)
    started = time.perf_counter()
    written = await watch.check()
    took = time.perf_counter() - started
    print(f"SLA watch, escalating:    {count} running tickets in {took:.2f} s ({written} events written)")
    started = time.perf_counter()
    again = await watch.check()
    took = time.perf_counter() - started
    print(f"SLA watch, nothing new:   {count} running tickets in {took:.2f} s ({again} events)")
    started = time.perf_counter()
    listed = await tickets.search(TicketFilter(limit=200))
    took = time.perf_counter() - started
    print(f"list, most urgent first:  200 of {count} in {took * 1000:.1f} ms (first: level "
          f"{listed[0].escalation_level}, {listed[0].urgency})")
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        asyncio.run(run(url, args.tickets))


if __name__ == "__main__":
    main()
