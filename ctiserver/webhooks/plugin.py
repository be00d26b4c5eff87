"""Ticket events delivered to webhooks: one supervised deliverer per configured endpoint,
woken when this process writes a ticket event (and polling for those other processes
write), ``GET /api/webhooks`` and a check in ``/healthz``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from ctiserver.core import Core
from ctiserver.settings import WebhookEndpoint
from ctiserver.web import health
from ctiserver.webhooks import http
from ctiserver.webhooks.deliverer import Deliverer
from ctiserver.webhooks.model import ENDPOINT_NAME
from ctiserver.webhooks.store import WebhookStore
from ctiserver.webhooks.views import WebhookOverview

#: how long after a ticket event's INSERT the deliverers look (its transaction commits meanwhile)
NUDGE_DELAY = 0.05
_WRITTEN = "ctiserver.webhooks.ticket_event_written"


def check_endpoints(endpoints: Sequence[WebhookEndpoint]) -> None:
    """ValueError naming what is wrong with the endpoints' settings."""
    names = [endpoint.name for endpoint in endpoints]
    for endpoint in endpoints:
        if not ENDPOINT_NAME.fullmatch(endpoint.name):
            raise ValueError(f"webhook endpoint name {endpoint.name!r}: use 1-64 letters, digits, _ . -")
        if names.count(endpoint.name) > 1:
            raise ValueError(f"webhook endpoint name {endpoint.name!r} is used twice")
        parts = urlsplit(endpoint.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook endpoint {endpoint.name}: url must be http(s)://host/...")
        if endpoint.start not in ("now", "beginning"):
            raise ValueError(f"webhook endpoint {endpoint.name}: start must be 'now' or 'beginning'")
        if not endpoint.kinds:
            raise ValueError(f"webhook endpoint {endpoint.name}: kinds is empty")
        if endpoint.timeout <= 0 or endpoint.backoff_min <= 0 or endpoint.backoff_max < endpoint.backoff_min:
            raise ValueError(f"webhook endpoint {endpoint.name}: timeout and back-off must be positive")


def nudge_on_ticket_events(engine: AsyncEngine, nudge: Callable[[], None]) -> None:
    """Call ``nudge`` shortly after a transaction that inserted into ``ticket_events`` commits."""
    sync_engine = engine.sync_engine

    def executed(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:32].upper().startswith("INSERT INTO TICKET_EVENTS"):
            conn.info[_WRITTEN] = True

    def committed(conn: Any) -> None:
        if conn.info.pop(_WRITTEN, False):
            try:
                asyncio.get_running_loop().call_later(NUDGE_DELAY, nudge)
            except RuntimeError:  # no loop in this thread: the next poll finds the event
                return

    def rolled_back(conn: Any) -> None:
        conn.info.pop(_WRITTEN, None)

    event.listen(sync_engine, "after_cursor_execute", executed)
    event.listen(sync_engine, "commit", committed)
    event.listen(sync_engine, "rollback", rolled_back)


def register(core: Core) -> list[Deliverer]:
    settings = core.settings.webhooks
    check_endpoints(settings.endpoints)
    store = WebhookStore(core.db)
    deliverers = [Deliverer(endpoint, store, settings) for endpoint in settings.endpoints]
    for deliverer in deliverers:
        core.long_running(f"webhook {deliverer.endpoint.name}", deliverer.run_forever)
    if deliverers:

        def nudge() -> None:
            for deliverer in deliverers:
                deliverer.nudge()

        nudge_on_ticket_events(core.db.engine, nudge)
    overview = WebhookOverview(store, settings, core.clock)
    http.register(core.app, overview)
    if deliverers:
        health.watch_check(core.app, overview)
    return deliverers
