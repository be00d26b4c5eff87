"""``GET /api/webhooks``: the endpoints ticket events are delivered to, for admins."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.web.contract import route
from ctiserver.webhooks.schemas import WebhookList
from ctiserver.webhooks.views import WebhookOverview

OVERVIEW_KEY = web.AppKey("webhooks", WebhookOverview)


async def list_endpoints(request: web.Request) -> dict[str, Any]:
    return {"endpoints": await request.app[OVERVIEW_KEY].endpoints()}


def register(app: web.Application, overview: WebhookOverview) -> None:
    app[OVERVIEW_KEY] = overview
    route(app, "GET", "/api/webhooks", list_endpoints,
          summary="Webhook endpoints: cursor, backlog, last attempt, stuck or not",
          roles={"admin"}, denied="admins only", answer=WebhookList)
