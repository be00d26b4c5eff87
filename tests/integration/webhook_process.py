"""The webhooks' deliverers in a process of their own, for tests that kill it (SIGKILL;
started by ``tests.support.processes``):
the settings come pickled in the file named by argv[1]; each configured endpoint gets the
server's supervised deliverer (``ctiserver.webhooks``) on the settings' database; it
prints "ready" once every endpoint's cursor exists."""

from __future__ import annotations

import asyncio
import logging
import pickle
import sys
from pathlib import Path

from ctiserver.storage.database import Database
from ctiserver.supervision import SupervisedTask
from ctiserver.tickets import EventFeed
from ctiserver.webhooks.deliverer import Deliverer
from ctiserver.webhooks.store import WebhookStore


async def main() -> None:
    settings = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301  (the test's own file)
    db = Database(settings.database.url)
    store = WebhookStore(db)
    feed = EventFeed(db, interval=settings.tickets.feed_interval)
    deliverers = [Deliverer(endpoint, store, feed) for endpoint in settings.webhooks.endpoints]
    for deliverer in deliverers:
        await deliverer.consumer.prepare()
    tasks = [
        asyncio.create_task(SupervisedTask(f"webhook {d.endpoint.name}", d.run_forever, first_delay=0.1).run_forever())
        for d in deliverers
    ]
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main())
