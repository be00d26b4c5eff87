"""Ticket events delivered to webhooks: one supervised deliverer per configured endpoint,
each a consumer of the ticket-event feed (woken when this process commits a ticket event,
looking every ``tickets.feed_interval`` for those other processes write), ``GET
/api/webhooks`` and a check in ``/healthz``."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from ctiserver.core import Core
from ctiserver.settings import WebhookEndpoint
from ctiserver.tickets import EventFeed
from ctiserver.web import health
from ctiserver.webhooks import http
from ctiserver.webhooks.deliverer import Deliverer
from ctiserver.webhooks.model import ENDPOINT_NAME
from ctiserver.webhooks.store import WebhookStore
from ctiserver.webhooks.views import WebhookOverview


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


def register(core: Core, feed: EventFeed) -> list[Deliverer]:
    settings = core.settings.webhooks
    check_endpoints(settings.endpoints)
    store = WebhookStore(core.db)
    deliverers = [Deliverer(endpoint, store, feed) for endpoint in settings.endpoints]
    for deliverer in deliverers:
        core.long_running(f"webhook {deliverer.endpoint.name}", deliverer.run_forever)
    overview = WebhookOverview(store, settings, core.clock)
    http.register(core.app, overview)
    if deliverers:
        health.watch_check(core.app, overview)
    return deliverers
