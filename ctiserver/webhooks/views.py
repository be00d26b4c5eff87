"""Each endpoint as the admins and the health check see it: cursor, backlog, last attempt,
and whether it is stuck (its oldest undelivered event older than ``webhooks.stuck_after``).

Read from the database, so every server on it tells the same, whichever one delivers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ctiserver.settings import WebhookEndpoint, WebhookSettings
from ctiserver.storage.base import from_epoch
from ctiserver.webhooks.store import EndpointState, WebhookStore


def shown_url(url: str) -> str:
    """``url`` without the user, password, query and fragment it may carry (tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


class WebhookOverview:
    #: its key under ``checks`` in /healthz
    name = "webhooks"

    def __init__(self, store: WebhookStore, settings: WebhookSettings, clock: Callable[[], float]) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    def _stuck(self, state: EndpointState) -> bool:
        if state.oldest_pending_at is None:
            return False
        return state.oldest_pending_at < from_epoch(self._clock() - self._settings.stuck_after)

    async def endpoints(self) -> list[dict[str, Any]]:
        shown = []
        for endpoint in self._settings.endpoints:
            state = await self._store.state(endpoint.name, endpoint.kinds)
            shown.append(self._view(endpoint, state))
        return shown

    def _view(self, endpoint: WebhookEndpoint, state: EndpointState) -> dict[str, Any]:
        return {
            "name": endpoint.name, "url": shown_url(endpoint.url), "kinds": list(endpoint.kinds),
            "cursor": state.last_event_id, "cursor_updated_at": _iso(state.updated_at),
            "backlog": state.backlog, "oldest_pending_at": _iso(state.oldest_pending_at),
            "failures": state.failures, "stuck": self._stuck(state),
            "last_attempt": None if state.last_attempt is None else state.last_attempt.to_dict(),
        }

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """For /healthz: not ok while an endpoint is stuck."""
        views = await self.endpoints()
        stuck = [view["name"] for view in views if view["stuck"]]
        return not stuck, {
            "stuck": stuck,
            "endpoints": {view["name"]: {"backlog": view["backlog"], "failures": view["failures"]} for view in views},
        }
