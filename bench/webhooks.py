"""Webhook delivery delay: ticket events written one after the other (TicketRepository, a
ticket and a note each) while the real deliverer sends them to a local receiver; prints
the delay from each event's commit to its arrival at the receiver (median, p95, max) and
the throughput of a backlog sent from scratch.

    python bench/webhooks.py [--events N] [--database URL] [--poll SECONDS]

SQLite in a temporary directory unless --database. The deliverer runs in this process,
so the ticket-event feed is woken by the ticket event's commit (the in-process bus);
--no-nudge measures the feed's safety poll alone (what a second process sees).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctiserver.settings import WebhookEndpoint  # noqa: E402
from ctiserver.storage.database import Database, upgrade_schema  # noqa: E402
from ctiserver.tickets import EventFeed, bus_of  # noqa: E402
from ctiserver.tickets.store import TicketRepository  # noqa: E402
from ctiserver.webhooks.deliverer import Deliverer  # noqa: E402
from ctiserver.webhooks.store import WebhookStore  # noqa: E402
from tests.webhook_receiver import Receiver  # noqa: E402

SECRET = "bench secret"


async def run(events: int, url: str, poll: float, nudge: bool) -> None:
    await upgrade_schema(url)
    db = Database(url)
    receiver = Receiver(SECRET)
    await receiver.start()
    arrived: dict[int, float] = {}
    original = receiver._handle

    async def stamped(request):  # type: ignore[no-untyped-def]
        answer = await original(request)
        arrived[receiver.requests[-1].body["event"]["id"]] = time.perf_counter()
        return answer

    receiver._handle = stamped  # type: ignore[method-assign]
    await receiver.stop()
    await receiver.start()
    endpoint = WebhookEndpoint("bench", receiver.url, SECRET, kinds=("created", "note"))
    feed = EventFeed(db, bus_of(db) if nudge else None, interval=poll)
    deliverer = Deliverer(endpoint, WebhookStore(db), feed)
    task = asyncio.create_task(deliverer.run_forever())
    await asyncio.sleep(0.5)
    tickets = TicketRepository(db)
    written: dict[int, float] = {}
    for n in range(events // 2):
        ticket = await tickets.open("repair", f"bench {n}", {}, customer_id=None, source="agent")
        created = time.perf_counter()
        await tickets.add_note(ticket.id, "note")
        noted = time.perf_counter()
        # a ticket opened where dispatch rules exist also writes "dispatched" (not sent)
        ids = [e.id for e in await tickets.events(ticket.id) if e.kind in ("created", "note")]
        written[ids[0]], written[ids[1]] = created, noted
        await asyncio.sleep(0.05)
    while len(arrived) < len(written):
        await asyncio.sleep(0.01)
    delays = sorted((arrived[i] - written[i]) * 1000 for i in written)
    print(f"events one by one: {len(delays)}; delay from commit to receiver (ms): "
          f"median {statistics.median(delays):.1f}, p95 {delays[int(len(delays) * 0.95) - 1]:.1f}, "
          f"max {delays[-1]:.1f} ({'nudge' if nudge else 'polling'}, poll {poll} s)")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    backlog = WebhookEndpoint("backlog", receiver.url, SECRET, kinds=("created", "note"), start="beginning")
    arrived.clear()
    started = time.perf_counter()
    task = asyncio.create_task(Deliverer(backlog, WebhookStore(db), EventFeed(db)).run_forever())
    while len(arrived) < len(written):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    print(f"backlog of {len(written)} events sent from scratch in {elapsed:.2f} s "
          f"({len(written) / elapsed:.0f} events/s, one at a time, each a committed transaction)")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    feed.close()
    await receiver.stop()
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--database", default="")
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--no-nudge", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database or f"sqlite+aiosqlite:///{directory}/bench.sqlite3"
        asyncio.run(run(args.events, url, args.poll, not args.no_nudge))


if __name__ == "__main__":
    main()
